// Command bench-inproc measures the engine in-process, without sockets, and
// prints JSON lines on stdout:
//
//	bench-inproc bigstate -size 1048576 -iters 50   server time of one event on a big state
//	bench-inproc scale -n 100000                     engine memory per joined session
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/seance-go/seance/bench/internal/child"
	"github.com/seance-go/seance/bench/internal/inproc"
	"github.com/seance-go/seance/bench/internal/server"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench-inproc bigstate|scale [flags]")
		os.Exit(2)
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	size := fs.Int("size", 1<<20, "JSON size of the big state (bigstate)")
	iters := fs.Int("iters", 50, "events (bigstate)")
	n := fs.Int("n", 100000, "sessions (scale)")
	topic := fs.String("topic", "counter:idle", "topic joined (scale)")
	fs.Parse(os.Args[2:])
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := server.New(server.Options{BigStateSize: *size, LongPoll: "off", Logger: log})
	defer srv.Shutdown(context.Background())
	ep := srv.Reg.Endpoint()
	switch mode {
	case "bigstate":
		res, err := inproc.BigState(ctx, ep, *size, *iters)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench-inproc:", err)
			os.Exit(1)
		}
		child.Emit(res)
	case "scale":
		step := max(*n/10, 1)
		state := len(*topic) > 8 && (*topic)[:8] == "counter:"
		child.Emit(inproc.Scale(ctx, ep, *topic, state, *n, step, func(r inproc.ScaleResult) { child.Emit(r) }))
	default:
		fmt.Fprintln(os.Stderr, "bench-inproc: unknown mode", mode)
		os.Exit(2)
	}
}
