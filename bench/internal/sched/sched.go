// Package sched reads a Go execution trace of a server under a
// request/reply load and splits the server-side time of each request into
// where it went: waiting to be scheduled, running, in system calls, blocked.
//
// A request is one wake-up of a goroutine that ends with a write: it starts
// when the goroutine is made runnable after waiting (the runtime's poller
// found its socket readable) and ends when it enters the system call that
// writes the reply. The trace says nothing of the client's side; the
// figures tell whether a server's slow requests were slow to run or slow to
// get a core.
package sched

import (
	"errors"
	"io"
	"slices"
	"strings"

	"golang.org/x/exp/trace"
)

// Request is the server-side time of one request, in nanoseconds.
type Request struct {
	Total int64 // from the wake-up to the write
	// Sched is the wait for a core after the wake-up: runnable, not yet
	// running.
	Sched int64
	// Preempted is the time runnable again after the goroutine first ran
	// (preempted, or yielded).
	Preempted int64
	Run       int64 // running Go code
	Syscall   int64 // in system calls before the write (the read)
	Blocked   int64 // waiting again before the write (locks, channels)
}

// Summary is the breakdown of a trace's requests.
type Summary struct {
	Requests int
	// Quantiles holds the request at the 50th, 90th, 99th, 99.5th and
	// 99.9th percentiles of Total.
	Quantiles []Quantile
	Mean      Request // over every request
	Slowest   Request // mean over the slowest 1%
}

// Quantile is the request at quantile Q of Total.
type Quantile struct {
	Q float64
	Request
}

// DefaultWrites are the functions whose system calls write a reply: the
// Seance handler's direct write and net.Conn's.
var DefaultWrites = []string{"handler.writeNow", "poll.(*FD).Write", "poll.(*FD).Writev"}

// Analyze reads the trace in r. writes names the functions whose system
// calls write a reply (a substring of a frame's function name; nil:
// DefaultWrites).
func Analyze(r io.Reader, writes []string) (Summary, error) {
	if writes == nil {
		writes = DefaultWrites
	}
	tr, err := trace.NewReader(r)
	if err != nil {
		return Summary{}, err
	}
	type open struct {
		start, last trace.Time
		ran         bool
		req         Request
	}
	gs := map[trace.GoID]*open{}
	var reqs []Request
	for {
		ev, err := tr.ReadEvent()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Summary{}, err
		}
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		st := ev.StateTransition()
		if st.Resource.Kind != trace.ResourceGoroutine {
			continue
		}
		g := st.Resource.Goroutine()
		from, to := st.Goroutine()
		now := ev.Time()
		o := gs[g]
		if o != nil {
			d := int64(now - o.last)
			switch from {
			case trace.GoRunnable:
				if o.ran {
					o.req.Preempted += d
				} else {
					o.req.Sched += d
				}
			case trace.GoRunning:
				o.req.Run += d
			case trace.GoSyscall:
				o.req.Syscall += d
			case trace.GoWaiting:
				o.req.Blocked += d
			}
			o.last = now
		}
		switch {
		case from == trace.GoWaiting && to == trace.GoRunnable && o == nil:
			gs[g] = &open{start: now, last: now}
		case o == nil:
		case to == trace.GoRunning:
			o.ran = true
		case from == trace.GoRunning && to == trace.GoSyscall && writesReply(st.Stack, writes):
			o.req.Total = int64(now - o.start)
			reqs = append(reqs, o.req)
			delete(gs, g)
		case to == trace.GoNotExist:
			delete(gs, g)
		}
	}
	return summarize(reqs), nil
}

func writesReply(s trace.Stack, writes []string) bool {
	for f := range s.Frames() {
		for _, w := range writes {
			if strings.Contains(f.Func, w) {
				return true
			}
		}
	}
	return false
}

func summarize(reqs []Request) Summary {
	s := Summary{Requests: len(reqs)}
	if len(reqs) == 0 {
		return s
	}
	slices.SortFunc(reqs, func(a, b Request) int { return int(a.Total - b.Total) })
	for _, q := range []float64{0.5, 0.9, 0.99, 0.995, 0.999} {
		s.Quantiles = append(s.Quantiles, Quantile{Q: q, Request: reqs[int(q*float64(len(reqs)-1))]})
	}
	s.Mean = mean(reqs)
	s.Slowest = mean(reqs[len(reqs)-max(1, len(reqs)/100):])
	return s
}

func mean(rs []Request) Request {
	var m Request
	for _, r := range rs {
		m.Total += r.Total
		m.Sched += r.Sched
		m.Preempted += r.Preempted
		m.Run += r.Run
		m.Syscall += r.Syscall
		m.Blocked += r.Blocked
	}
	n := int64(len(rs))
	return Request{m.Total / n, m.Sched / n, m.Preempted / n, m.Run / n, m.Syscall / n, m.Blocked / n}
}
