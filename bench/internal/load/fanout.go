package load

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/bench/internal/proto"
)

// FanoutConfig configures the broadcast fan-out run.
type FanoutConfig struct {
	Addr   string
	Kind   string // "ours" (joins Topic), "echo" (baseline) or "centrifuge" (subscribes to Topic)
	Conns  int
	Rounds int
	Warmup int    // rounds not measured
	Topic  string // default room:bench
}

// FanoutResult is the outcome of a fan-out run: per broadcast, the time from
// the trigger request until the last of the clients received the frame.
type FanoutResult struct {
	Kind    string  `json:"kind"`
	Conns   int     `json:"conns"`
	Rounds  int     `json:"rounds"`
	Lost    int     `json:"lost_rounds"`
	AllRecv Latency `json:"all_received"`
	First   Latency `json:"first_received"`
	Trigger Latency `json:"trigger_http"`
	Errors  Errors  `json:"errors"`
	// Samples are the all-received times in µs, in round order, so that
	// runs can be pooled.
	Samples []float64 `json:"samples_us,omitempty"`
	// FirstSamples and TriggerSamples are the same for the first receipt
	// and the trigger request.
	FirstSamples   []float64 `json:"first_samples_us,omitempty"`
	TriggerSamples []float64 `json:"trigger_samples_us,omitempty"`
}

// MergeFanout pools the rounds of several runs of the same system.
func MergeFanout(runs ...FanoutResult) FanoutResult {
	var out FanoutResult
	var all, first, trig []time.Duration
	toD := func(us []float64, into *[]time.Duration) {
		for _, u := range us {
			*into = append(*into, time.Duration(u*1e3))
		}
	}
	for _, r := range runs {
		out.Kind, out.Conns = r.Kind, r.Conns
		out.Rounds += r.Rounds
		out.Lost += r.Lost
		out.Errors.Merge(r.Errors)
		out.Samples = append(out.Samples, r.Samples...)
		out.FirstSamples = append(out.FirstSamples, r.FirstSamples...)
		out.TriggerSamples = append(out.TriggerSamples, r.TriggerSamples...)
		toD(r.Samples, &all)
		toD(r.FirstSamples, &first)
		toD(r.TriggerSamples, &trig)
	}
	out.AllRecv, out.First, out.Trigger = Summarize(all), Summarize(first), Summarize(trig)
	return out
}

func micros(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = float64(d.Nanoseconds()) / 1e3
	}
	return out
}

type round struct {
	seq   int
	need  int32
	got   atomic.Int32
	first atomic.Int64 // unix nanos of the first receipt (monotonic via start)
	done  chan struct{}
	end   time.Time
	start time.Time
}

// Fanout joins Conns clients to one topic, then triggers Rounds broadcasts
// one after the other through the server's /bench/broadcast endpoint.
func Fanout(ctx context.Context, cfg FanoutConfig) FanoutResult {
	if cfg.Topic == "" {
		cfg.Topic = "room:bench"
	}
	res := FanoutResult{Kind: cfg.Kind, Conns: cfg.Conns, Rounds: cfg.Rounds}
	var cur atomic.Pointer[round]
	conns := make([]*websocket.Conn, 0, cfg.Conns)
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for range cfg.Conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := DialWS(ctx, cfg.Addr, cfg.Kind, nil)
			if err == nil {
				err = JoinWS(c, cfg.Kind, cfg.Topic, false, 60*time.Second)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Errors.Add(err)
				if c != nil {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
		}()
	}
	wg.Wait()
	var readers sync.WaitGroup
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		readers.Wait()
	}()
	if res.Errors.Count > 0 {
		return res
	}
	for _, c := range conns {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				_, data, err := c.ReadMessage()
				if err != nil {
					return
				}
				now := time.Now()
				r := cur.Load()
				if r == nil || proto.SeqOf(data) != r.seq {
					continue
				}
				r.first.CompareAndSwap(0, int64(now.Sub(r.start)))
				if r.got.Add(1) == r.need {
					r.end = now
					close(r.done)
				}
			}
		}()
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	var alls, firsts, triggers []time.Duration
	for i := range cfg.Warmup + cfg.Rounds {
		r := &round{seq: i + 1, need: int32(len(conns)), done: make(chan struct{})}
		cur.Store(r)
		u := "http://" + cfg.Addr + "/bench/broadcast?topic=" + cfg.Topic + "&seq=" + strconv.Itoa(r.seq)
		r.start = time.Now()
		resp, err := hc.Post(u, "text/plain", nil)
		trig := time.Since(r.start)
		if err != nil {
			res.Errors.Add(err)
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if n := resp.Header.Get("X-Receivers"); n != strconv.Itoa(len(conns)) {
			res.Errors.Add(fmt.Errorf("broadcast reached %s receivers, want %d", n, len(conns)))
		}
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			res.Lost++
			continue
		case <-ctx.Done():
			return res
		}
		if i < cfg.Warmup {
			continue
		}
		alls = append(alls, r.end.Sub(r.start))
		firsts = append(firsts, time.Duration(r.first.Load()))
		triggers = append(triggers, trig)
	}
	res.Samples, res.FirstSamples, res.TriggerSamples = micros(alls), micros(firsts), micros(triggers)
	res.AllRecv, res.First, res.Trigger = Summarize(alls), Summarize(firsts), Summarize(triggers)
	return res
}
