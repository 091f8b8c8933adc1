// Command bench-server is the system under test of the Seance load harness:
// a livestate.Registry with a counter LiveState channel (counter:*), a
// 1 MB-state LiveState channel (big:*) and a plain broadcast channel
// (room:*), served at /socket, with the control endpoints /bench/broadcast
// and /bench/stats and net/http/pprof; with -observer prometheus, the
// observe/prometheus observer on its endpoint and /metrics. It prints {"addr":…,"pid":…} on
// stdout when it listens and stops when its standard input closes.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/seance-go/seance/bench/internal/child"
	"github.com/seance-go/seance/bench/internal/server"
	"github.com/seance-go/seance/bench/internal/sysinfo"
	seanceprom "github.com/seance-go/seance/observe/prometheus"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	big := flag.Int("big", 1<<20, "JSON size of big:* states in bytes")
	lp := flag.String("longpoll", "auto", "long-poll: auto, native or off")
	observer := flag.String("observer", "none", "the endpoint's observer: none or prometheus (observe/prometheus, served at /metrics)")
	flag.Parse()
	nofile, err := sysinfo.RaiseNoFile(1 << 20)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-server: RLIMIT_NOFILE:", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := server.Options{BigStateSize: *big, LongPoll: *lp, Logger: log}
	var metrics *seanceprom.Metrics
	switch *observer {
	case "none":
	case "prometheus":
		metrics = seanceprom.New(seanceprom.Options{})
		opts.Observer = metrics.Observer()
	default:
		fmt.Fprintln(os.Stderr, "bench-server: unknown -observer", *observer)
		os.Exit(2)
	}
	srv := server.New(opts)
	if metrics != nil {
		metrics.WatchEndpoint(srv.Reg.Endpoint())
		reg := prometheus.NewRegistry()
		reg.MustRegister(metrics)
		srv.Mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	}
	ctx, cancel := child.Context()
	defer cancel()
	if err := child.Serve(ctx, *addr, srv.Mux, child.Ready{NoFile: nofile, LongPoll: srv.LongPoll}, srv.Shutdown); err != nil {
		fmt.Fprintln(os.Stderr, "bench-server:", err)
		os.Exit(1)
	}
}
