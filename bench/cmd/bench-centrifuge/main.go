// Command bench-centrifuge is the same-run peer of the Seance load harness:
// a centrifuge v0.40 node with its JSON protocol over WebSocket at
// /connection/websocket (package internal/peer). It prints
// {"addr":…,"pid":…} on stdout when it listens and stops when its standard
// input closes.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/seance-go/seance/bench/internal/child"
	"github.com/seance-go/seance/bench/internal/peer"
	"github.com/seance-go/seance/bench/internal/sysinfo"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	nofile, err := sysinfo.RaiseNoFile(1 << 20)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-centrifuge: RLIMIT_NOFILE:", err)
	}
	srv, err := peer.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-centrifuge:", err)
		os.Exit(1)
	}
	ctx, cancel := child.Context()
	defer cancel()
	if err := child.Serve(ctx, *addr, srv.Mux, child.Ready{NoFile: nofile}, srv.Shutdown); err != nil {
		fmt.Fprintln(os.Stderr, "bench-centrifuge:", err)
		os.Exit(1)
	}
}
