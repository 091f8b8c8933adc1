// Command bench-sched reads Go execution traces of servers under a
// request/reply load and prints where the server-side time of their
// requests went: waiting for a core after the socket became readable,
// running, in system calls, blocked (see package bench/internal/sched).
//
// Capture a trace from a bench server while bench-load runs against it:
//
//	curl -o ours.trace 'http://ADDR/debug/pprof/trace?seconds=2'
//	bench-sched ours.trace echo.trace
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/seance-go/seance/bench/internal/sched"
)

func main() {
	writes := flag.String("writes", strings.Join(sched.DefaultWrites, ","), "functions whose system calls write a reply (comma-separated substrings)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: bench-sched [-writes f1,f2] trace...")
		os.Exit(2)
	}
	fmt.Println("| trace | requests | quantile | total µs | waiting for a core | preempted | running | syscalls | blocked |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, name := range flag.Args() {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench-sched:", err)
			os.Exit(1)
		}
		s, err := sched.Analyze(f, strings.Split(*writes, ","))
		f.Close()
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench-sched: %s: %v\n", name, err)
			os.Exit(1)
		}
		row := func(label string, r sched.Request) {
			us := func(ns int64) string { return fmt.Sprintf("%.1f", float64(ns)/1e3) }
			fmt.Printf("| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", name, s.Requests, label,
				us(r.Total), us(r.Sched), us(r.Preempted), us(r.Run), us(r.Syscall), us(r.Blocked))
		}
		row("mean", s.Mean)
		for _, q := range s.Quantiles {
			row(fmt.Sprintf("p%g", q.Q*100), q.Request)
		}
		row("slowest 1% (mean)", s.Slowest)
	}
}
