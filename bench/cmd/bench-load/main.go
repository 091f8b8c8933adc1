// Command bench-load is the load generator of the Seance load harness. It
// runs in its own process, apart from the server it measures, and prints
// its results as JSON lines on stdout.
//
//	bench-load rt       -addr A -kind ours|echo -conns 32 -dur 5s     event→patch or echo round trips
//	bench-load idle     -addr A -kind ours|echo -src 127.0.1.1 -srcn 8 reads "open N" lines on stdin,
//	                                                                   holds bare joined connections
//	bench-load fanout   -addr A -kind ours|echo -conns 2000 -rounds 200
//	bench-load longpoll -addr A -sessions 1000 -dur 20s -think 1s
//	bench-load hold     -addr A -kind client|gorilla -conns 10000      this process holds the sockets
//
// idle and hold keep their connections until standard input closes.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/seance-go/seance/bench/internal/child"
	"github.com/seance-go/seance/bench/internal/load"
	"github.com/seance-go/seance/bench/internal/sysinfo"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench-load rt|idle|fanout|longpoll|hold [flags]")
		os.Exit(2)
	}
	if _, err := sysinfo.RaiseNoFile(1 << 20); err != nil {
		fmt.Fprintln(os.Stderr, "bench-load: RLIMIT_NOFILE:", err)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	mode, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:4000", "server host:port")
	kind := fs.String("kind", "ours", "ours | echo (rt, idle, fanout); client | gorilla (hold)")
	conns := fs.Int("conns", 32, "connections")
	dur := fs.Duration("dur", 5*time.Second, "measured duration")
	warmup := fs.Duration("warmup", time.Second, "unmeasured warm-up (rt)")
	topic := fs.String("topic", "", "topic (default per mode)")
	event := fs.String("event", "", "event pushed (rt; default lvs_evt:increment)")
	client := fs.String("client", "gorilla", "rt client: gorilla (goroutine per connection) or poll (one epoll loop)")
	src := fs.String("src", "", "first source address, e.g. 127.0.1.1 (idle)")
	srcn := fs.Int("srcn", 1, "number of source addresses (idle)")
	conc := fs.Int("conc", 0, "connections set up at once (idle, hold)")
	rounds := fs.Int("rounds", 200, "broadcasts (fanout)")
	warmRounds := fs.Int("warmup-rounds", 10, "unmeasured broadcasts (fanout)")
	sessions := fs.Int("sessions", 1000, "sessions (longpoll)")
	think := fs.Duration("think", time.Second, "mean pause between events of a session (longpoll)")
	serverPID := fs.Int("server-pid", 0, "the server's process, whose CPU time over the measured window is reported (rt, Linux)")
	fs.Parse(args)

	switch mode {
	case "rt":
		if *client == "poll" {
			runtime.GOMAXPROCS(1) // one event loop: a second P would only spin
		}
		child.Emit(load.RoundTrip(ctx, load.RoundTripConfig{Addr: *addr, Kind: *kind, Conns: *conns,
			Warmup: *warmup, Dur: *dur, Topic: *topic, Event: *event, Client: *client, ServerPID: *serverPID}))
	case "fanout":
		child.Emit(load.Fanout(ctx, load.FanoutConfig{Addr: *addr, Kind: *kind, Conns: *conns,
			Rounds: *rounds, Warmup: *warmRounds, Topic: *topic}))
	case "longpoll":
		child.Emit(load.LongPoll(ctx, load.LongPollConfig{Addr: *addr, Sessions: *sessions, Dur: *dur,
			Think: *think, Topic: *topic}))
	case "idle":
		sources, err := load.SourceAddrs(*src, *srcn)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		h := load.NewIdleHolder(load.IdleConfig{Addr: *addr, Kind: *kind, Topic: *topic, Sources: sources, Concurrency: *conc})
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 2 && f[0] == "open" {
				n, _ := strconv.Atoi(f[1])
				child.Emit(h.Open(ctx, n))
			}
		}
		h.Close()
	case "hold":
		h, res := load.Hold(ctx, load.HoldConfig{Addr: *addr, Kind: *kind, Conns: *conns, Topic: *topic, Concurrency: *conc})
		child.Emit(res)
		io.Copy(io.Discard, os.Stdin)
		h.Close()
	default:
		fmt.Fprintln(os.Stderr, "bench-load: unknown mode", mode)
		os.Exit(2)
	}
}
