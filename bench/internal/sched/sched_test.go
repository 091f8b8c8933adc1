package sched

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"runtime/trace"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestAnalyzeEcho traces a TCP echo served by a goroutine per connection
// and checks that each request answered is counted once, with its parts
// adding up to no more than its total.
func TestAnalyzeEcho(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadBytes('\n')
			if err != nil {
				return
			}
			if _, err := c.Write(line); err != nil {
				return
			}
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Fatal(err)
	}
	const n = 200
	br := bufio.NewReader(c)
	for range n {
		if _, err := c.Write([]byte("ping\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := br.ReadBytes('\n'); err != nil {
			t.Fatal(err)
		}
	}
	trace.Stop()
	c.Close()
	wg.Wait()

	s, err := Analyze(&buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The client's writes are requests too (it waits for each reply, then
	// writes): between the server's n and both sides' 2n.
	if s.Requests < n || s.Requests > 2*n {
		t.Fatalf("counted %d requests, want between %d and %d", s.Requests, n, 2*n)
	}
	for _, q := range s.Quantiles {
		r := q.Request
		if r.Total <= 0 || r.Sched+r.Preempted+r.Run+r.Syscall+r.Blocked > r.Total {
			t.Errorf("p%v: parts %+v do not fit in the total", q.Q*100, r)
		}
	}
	if s.Mean.Run <= 0 {
		t.Errorf("mean running time %d, want > 0", s.Mean.Run)
	}
	if s.Slowest.Total < s.Mean.Total {
		t.Errorf("slowest 1%% (%d ns) faster than the mean (%d ns)", s.Slowest.Total, s.Mean.Total)
	}
}

// TestAnalyzeNotATrace refuses input that is not an execution trace.
func TestAnalyzeNotATrace(t *testing.T) {
	if _, err := Analyze(bytes.NewReader([]byte("not a trace")), nil); err == nil {
		t.Fatal("no error for input that is not a trace")
	}
	if _, err := Analyze(io.LimitReader(bytes.NewReader(nil), 0), nil); err == nil {
		t.Fatal("no error for empty input")
	}
}
