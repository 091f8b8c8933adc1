// Command bench-baseline is the raw gorilla/websocket baseline of the Seance
// load harness: an echo server at /socket/websocket with one reader
// goroutine per connection, which /bench/broadcast makes write one
// pre-encoded frame to every connection. With -work it burns that much CPU
// per echoed message first (row 1's calibration). It prints {"addr":…,"pid":…} on
// stdout when it listens and stops when its standard input closes.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/seance-go/seance/bench/internal/baseline"
	"github.com/seance-go/seance/bench/internal/child"
	"github.com/seance-go/seance/bench/internal/sysinfo"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	work := flag.Duration("work", 0, "CPU time burnt per echoed message (row 1's calibration)")
	flag.Parse()
	nofile, err := sysinfo.RaiseNoFile(1 << 20)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-baseline: RLIMIT_NOFILE:", err)
	}
	srv := baseline.New(*work)
	ctx, cancel := child.Context()
	defer cancel()
	if err := child.Serve(ctx, *addr, srv.Mux, child.Ready{NoFile: nofile}, srv.Shutdown); err != nil {
		fmt.Fprintln(os.Stderr, "bench-baseline:", err)
		os.Exit(1)
	}
}
