// Command bench-server is the system under test of the Seance load harness:
// a livestate.Registry with a counter LiveState channel (counter:*), a
// 1 MB-state LiveState channel (big:*) and a plain broadcast channel
// (room:*), served at /socket, with the control endpoints /bench/broadcast
// and /bench/stats and net/http/pprof. It prints {"addr":…,"pid":…} on
// stdout when it listens and stops when its standard input closes.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/seance-go/seance/bench/internal/child"
	"github.com/seance-go/seance/bench/internal/server"
	"github.com/seance-go/seance/bench/internal/sysinfo"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	big := flag.Int("big", 1<<20, "JSON size of big:* states in bytes")
	lp := flag.String("longpoll", "auto", "long-poll: auto, native or off")
	flag.Parse()
	nofile, err := sysinfo.RaiseNoFile(1 << 20)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-server: RLIMIT_NOFILE:", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := server.New(server.Options{BigStateSize: *big, LongPoll: *lp, Logger: log})
	ctx, cancel := child.Context()
	defer cancel()
	if err := child.Serve(ctx, *addr, srv.Mux, child.Ready{NoFile: nofile, LongPoll: srv.LongPoll}, srv.Shutdown); err != nil {
		fmt.Fprintln(os.Stderr, "bench-server:", err)
		os.Exit(1)
	}
}
