package load

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/seance-go/seance/bench/internal/proto"
	"github.com/seance-go/seance/bench/internal/rawws"
)

// IdleConfig configures the lean idle-connection holder.
type IdleConfig struct {
	Addr        string
	Kind        string // "ours": join Topic and wait for reply + state; "echo": wait for the echo; "centrifuge": connect, subscribe to Topic
	Topic       string // default counter:idle
	Sources     []*net.TCPAddr
	Concurrency int // connections being set up at once (default 64)
}

// IdleHolder holds bare joined connections: no goroutine and no buffer per
// connection once joined.
type IdleHolder struct {
	cfg   IdleConfig
	conns []net.Conn
	next  int // round-robin over sources
}

// IdleStep reports one Open.
type IdleStep struct {
	Event   string  `json:"event"`
	Conns   int     `json:"conns"`
	Opened  int     `json:"opened"`
	Seconds float64 `json:"seconds"`
	Errors  Errors  `json:"errors"`
}

// NewIdleHolder returns an empty holder.
func NewIdleHolder(cfg IdleConfig) *IdleHolder {
	if cfg.Topic == "" {
		cfg.Topic = "counter:idle"
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	if len(cfg.Sources) == 0 {
		cfg.Sources = []*net.TCPAddr{nil}
	}
	return &IdleHolder{cfg: cfg}
}

// Open opens and joins n more connections.
func (h *IdleHolder) Open(ctx context.Context, n int) IdleStep {
	start := time.Now()
	jobs := make(chan *net.TCPAddr)
	var mu sync.Mutex
	var wg sync.WaitGroup
	step := IdleStep{Event: "holding"}
	for range h.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			br := bufio.NewReaderSize(nil, 4096)
			for src := range jobs {
				c, err := h.openOne(ctx, src, br)
				mu.Lock()
				if err != nil {
					step.Errors.Add(err)
				} else {
					h.conns = append(h.conns, c)
					step.Opened++
				}
				mu.Unlock()
			}
		}()
	}
	for range n {
		src := h.cfg.Sources[h.next%len(h.cfg.Sources)]
		h.next++
		select {
		case jobs <- src:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	step.Conns = len(h.conns)
	step.Seconds = time.Since(start).Seconds()
	return step
}

func (h *IdleHolder) openOne(ctx context.Context, src *net.TCPAddr, br *bufio.Reader) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var local net.Addr
	if src != nil {
		local = src
	}
	c, err := rawws.Dial(ctx, local, h.cfg.Addr, wsPath(h.cfg.Kind), br)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (net.Conn, error) {
		c.Close()
		return nil, err
	}
	if h.cfg.Kind == Centrifuge {
		if err := cfJoin(func(b []byte) error { return rawws.WriteText(c, b) }, func() ([]byte, error) { return rawws.ReadFrame(br) }, h.cfg.Topic); err != nil {
			return fail(err)
		}
		c.SetDeadline(time.Time{})
		br.Reset(nil)
		return c, nil
	}
	if err := rawws.WriteText(c, proto.Frame("1", "1", h.cfg.Topic, "phx_join", nil)); err != nil {
		return fail(err)
	}
	replied, state := false, false
	for !(replied && state) {
		data, err := rawws.ReadFrame(br)
		if err != nil {
			return fail(err)
		}
		if h.cfg.Kind == "echo" {
			break
		}
		m, err := proto.Parse(data)
		if err != nil {
			return fail(err)
		}
		switch m.Event {
		case "phx_reply":
			if !jsonHasOK(m.Payload) {
				return fail(fmt.Errorf("join refused: %s", m.Payload))
			}
			replied = true
		case "state:change":
			state = true
		}
	}
	c.SetDeadline(time.Time{})
	br.Reset(nil)
	return c, nil
}

// Close closes every connection without waiting for the server (RST, no
// TIME_WAIT on the source addresses).
func (h *IdleHolder) Close() {
	for _, c := range h.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
	h.conns = nil
}
