package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/bench/internal/proto"
)

// RoundTripConfig configures a closed-loop round-trip run.
type RoundTripConfig struct {
	Addr   string        // host:port of the server
	Kind   string        // "ours" (LiveState) or "echo" (raw gorilla echo)
	Conns  int           // concurrent connections, one outstanding event each
	Warmup time.Duration // not measured
	Dur    time.Duration // measured
	Topic  string        // LiveState topic (default counter:rt)
	Event  string        // event pushed (default lvs_evt:increment)
	Client string        // "gorilla" (a goroutine per connection, default) or "poll" (one epoll loop)
	// ServerPID, when set, is the server's process: the CPU time it spends
	// over the measured window is read from /proc (Linux) into ServerCPU.
	ServerPID int
}

// RoundTripResult is the outcome of a round-trip run.
type RoundTripResult struct {
	Kind      string  `json:"kind"`
	Conns     int     `json:"conns"`
	Ops       int     `json:"ops"`
	Seconds   float64 `json:"seconds"`
	OpsPerSec float64 `json:"ops_per_sec"`
	Latency   Latency `json:"latency"`
	Errors    Errors  `json:"errors"`
	// ServerCPU is the CPU time (user + system, seconds) the server
	// process spent over the measured window; 0 when not measured.
	ServerCPU float64 `json:"server_cpu_s,omitempty"`
	// Hist holds the latencies, so that runs can be pooled.
	Hist Hist `json:"hist,omitempty"`
}

// CPUPerOp is the server's CPU time per round trip in µs; 0 when not
// measured.
func (r RoundTripResult) CPUPerOp() float64 {
	if r.ServerCPU <= 0 || r.Ops == 0 {
		return 0
	}
	return r.ServerCPU * 1e6 / float64(r.Ops)
}

// MergeRoundTrips pools runs of the same system: operations and seconds
// add up, latencies are taken from the pooled histograms.
func MergeRoundTrips(runs ...RoundTripResult) RoundTripResult {
	var out RoundTripResult
	out.Hist = Hist{}
	for _, r := range runs {
		out.Kind, out.Conns = r.Kind, r.Conns
		out.Ops += r.Ops
		out.Seconds += r.Seconds
		out.ServerCPU += r.ServerCPU
		out.Errors.Merge(r.Errors)
		out.Hist.Add(r.Hist)
	}
	if out.Seconds > 0 {
		out.OpsPerSec = float64(out.Ops) / out.Seconds
	}
	out.Latency = out.Hist.Summary()
	out.Hist = nil // pooled; keep the results file small
	return out
}

// DialWS opens a gorilla client connection to the socket of a kind of
// server at addr, from local when set.
func DialWS(ctx context.Context, addr, kind string, local *net.TCPAddr) (*websocket.Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second}
	if local != nil {
		nd := &net.Dialer{LocalAddr: local}
		d.NetDialContext = nd.DialContext
	}
	c, _, err := d.DialContext(ctx, "ws://"+addr+wsPath(kind), nil)
	return c, err
}

// JoinWS joins topic on c: for "ours" it waits for the ok reply and, on a
// LiveState topic (wantState), the first state:change; for "echo" for the
// echo of the join frame; for the centrifuge peer it connects and
// subscribes to topic as a channel.
func JoinWS(c *websocket.Conn, kind, topic string, wantState bool, timeout time.Duration) error {
	c.SetReadDeadline(time.Now().Add(timeout))
	defer c.SetReadDeadline(time.Time{})
	if kind == Centrifuge {
		return cfJoin(func(b []byte) error { return c.WriteMessage(websocket.TextMessage, b) },
			func() ([]byte, error) { _, data, err := c.ReadMessage(); return data, err }, topic)
	}
	if err := c.WriteMessage(websocket.TextMessage, proto.Frame("1", "1", topic, "phx_join", nil)); err != nil {
		return err
	}
	replied, state := false, !wantState
	for !(replied && state) {
		_, data, err := c.ReadMessage()
		if err != nil {
			return err
		}
		if kind == "echo" {
			return nil
		}
		m, err := proto.Parse(data)
		if err != nil {
			return err
		}
		switch m.Event {
		case "phx_reply":
			if !jsonHasOK(m.Payload) {
				return fmt.Errorf("join of %s refused: %s", topic, m.Payload)
			}
			replied = true
		case "state:change":
			state = true
		case "error", "phx_error", "phx_close":
			return fmt.Errorf("join of %s: %s %s", topic, m.Event, m.Payload)
		}
	}
	return nil
}

func jsonHasOK(p []byte) bool { return bytes.Contains(p, []byte(`"status":"ok"`)) }

// RoundTrip runs cfg.Conns closed loops: push the event, wait for the state
// update (ours), the echo or the RPC reply (centrifuge), repeat.
func RoundTrip(ctx context.Context, cfg RoundTripConfig) (res RoundTripResult) {
	if cfg.Topic == "" {
		cfg.Topic = "counter:rt"
	}
	if cfg.Event == "" {
		cfg.Event = "lvs_evt:increment"
	}
	res = RoundTripResult{Kind: cfg.Kind, Conns: cfg.Conns}
	conns := make([]*websocket.Conn, cfg.Conns)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := DialWS(ctx, cfg.Addr, cfg.Kind, nil)
			if err == nil {
				err = JoinWS(c, cfg.Kind, cfg.Topic, true, 60*time.Second)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Errors.Add(fmt.Errorf("connect: %w", err))
				if c != nil {
					c.Close()
				}
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	if res.Errors.Count > 0 {
		return res
	}
	start := time.Now()
	measureFrom := start.Add(cfg.Warmup)
	end := measureFrom.Add(cfg.Dur)
	cpu := make(chan float64, 1)
	if cfg.ServerPID > 0 {
		go func() { cpu <- cpuOver(ctx, cfg.ServerPID, measureFrom, end) }()
	} else {
		cpu <- 0
	}
	defer func() { res.ServerCPU = <-cpu }()
	if cfg.Client == "poll" {
		all, errs := pollLoops(ctx, conns, cfg, measureFrom, end)
		res.Errors.Merge(errs)
		res.setLatencies(all, cfg.Dur)
		return res
	}
	lats := make([][]time.Duration, len(conns))
	errs := make([]Errors, len(conns))
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lats[i], errs[i] = loop(ctx, c, cfg, measureFrom, end)
		}()
	}
	wg.Wait()
	var all []time.Duration
	for i := range lats {
		all = append(all, lats[i]...)
		res.Errors.Merge(errs[i])
	}
	res.setLatencies(all, cfg.Dur)
	return res
}

// setLatencies fills in the figures of a run of d from its round trips.
func (res *RoundTripResult) setLatencies(all []time.Duration, d time.Duration) {
	res.Ops = len(all)
	res.Seconds = d.Seconds()
	res.OpsPerSec = float64(res.Ops) / res.Seconds
	res.Hist = HistOf(all)
	res.Latency = Summarize(all)
}

func loop(ctx context.Context, c *websocket.Conn, cfg RoundTripConfig, from, end time.Time) ([]time.Duration, Errors) {
	var errs Errors
	var lats []time.Duration
	ref := 1
	for ctx.Err() == nil {
		now := time.Now()
		if now.After(end) {
			break
		}
		ref++
		frame := rtFrame(cfg, ref)
		c.SetWriteDeadline(now.Add(30 * time.Second))
		c.SetReadDeadline(now.Add(30 * time.Second))
		if err := c.WriteMessage(websocket.TextMessage, frame); err != nil {
			errs.Add(err)
			return lats, errs
		}
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				errs.Add(err)
				return lats, errs
			}
			done, err := rtAnswered(cfg, data, ref)
			if err != nil {
				errs.Add(err)
			}
			if done {
				break
			}
		}
		if now.After(from) {
			lats = append(lats, time.Since(now))
		}
	}
	return lats, errs
}

// rtFrame is the request of a round trip: the event for ours and the echo,
// the RPC for centrifuge.
func rtFrame(cfg RoundTripConfig, ref int) []byte {
	if cfg.Kind == Centrifuge {
		return proto.CfRPC(ref)
	}
	return proto.Frame("1", strconv.Itoa(ref), cfg.Topic, cfg.Event, nil)
}

// rtAnswered reports whether data ends the round trip of ref, and an error
// the server answered with on the way.
func rtAnswered(cfg RoundTripConfig, data []byte, ref int) (bool, error) {
	switch cfg.Kind {
	case "echo":
		return true, nil
	case Centrifuge:
		return cfAnswered(data, ref)
	}
	switch ev := proto.EventOf(data); ev {
	case "state:patch", "state:change":
		return true, nil
	case "error", "phx_error":
		return false, errors.New("server pushed " + ev + ": " + string(data))
	}
	return false, nil
}
