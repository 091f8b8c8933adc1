package presence

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/seance-go/seance/phx"
)

// benchEndpoint is an endpoint whose "room:*" joins are handed to the
// benchmark, with sessions drained by a goroutine each.
type benchEndpoint struct {
	ep     *phx.Endpoint
	joined chan *phx.Channel
	sess   []*phx.Session
}

func newBenchEndpoint(b *testing.B) *benchEndpoint {
	be := &benchEndpoint{
		ep:     phx.NewEndpoint(phx.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), QueueLength: 1 << 16, QueueBytes: 1 << 30}),
		joined: make(chan *phx.Channel, 128),
	}
	be.ep.Handle("*", phx.HandlerFuncs{JoinFunc: func(_ context.Context, ch *phx.Channel, _ phx.Payload) (any, error) {
		be.joined <- ch
		return nil, nil
	}})
	b.Cleanup(func() {
		for _, s := range be.sess {
			s.Close(phx.ErrShutdown)
			s.Detach()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		be.ep.Shutdown(ctx)
	})
	return be
}

// session opens a drained session joined to topics.
func (be *benchEndpoint) session(b *testing.B, topics ...string) []*phx.Channel {
	s, err := be.ep.Open(phx.ConnectInfo{}, phx.V2JSON(), false)
	if err != nil {
		b.Fatal(err)
	}
	be.sess = append(be.sess, s)
	go func() {
		for {
			if _, err := s.Next(context.Background()); err != nil {
				return
			}
		}
	}()
	var out []*phx.Channel
	for i, topic := range topics {
		if err := s.Receive(fmt.Appendf(nil, `["%d","%d","%s","phx_join",{}]`, i+1, i+1, topic), false); err != nil {
			b.Fatal(err)
		}
		out = append(out, <-be.joined)
	}
	return out
}

// tracked10k tracks 10,000 presences on "room:big", one channel each
// (100 sessions of 100 channels), and returns the heap bytes they took.
func tracked10k(b *testing.B, be *benchEndpoint, t *Tracker) (chans []*phx.Channel, heap uint64) {
	for i := range 100 {
		topics := make([]string, 100)
		for j := range topics {
			topics[j] = fmt.Sprintf("own:%d:%d", i, j)
		}
		chans = append(chans, be.session(b, topics...)...)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i, ch := range chans {
		if _, err := t.TrackTopic(ch, "room:big", fmt.Sprintf("user%d", i), map[string]any{"online_at": 1764756000 + i, "device": "browser"}); err != nil {
			b.Fatal(err)
		}
	}
	t.flush()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return chans, after.HeapAlloc - before.HeapAlloc
}

// BenchmarkState10k: pushing the presence_state of a topic with 10,000
// presences to a joiner (encoding included), and the memory one presence
// takes in the tracker.
func BenchmarkState10k(b *testing.B) {
	be := newBenchEndpoint(b)
	t := New(be.ep, Options{Interval: time.Hour})
	defer t.Close(context.Background())
	_, heap := tracked10k(b, be, t)
	joiner := be.session(b, "room:big")[0]
	var size int
	if l, err := t.List("room:big").MarshalJSON(); err == nil {
		size = len(l)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := t.PushState(joiner); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(heap)/10000, "B/presence")
	b.ReportMetric(float64(size), "state-bytes")
}

// BenchmarkDiffFanout2000: one presence_diff (a track) on a topic with
// 2,000 subscribers: encoded once, queued to every subscriber.
func BenchmarkDiffFanout2000(b *testing.B) {
	be := newBenchEndpoint(b)
	t := New(be.ep, Options{Interval: time.Hour})
	defer t.Close(context.Background())
	for range 2000 {
		be.session(b, "room:fan")
	}
	tracker := be.session(b, "own:tracker")[0]
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		key := fmt.Sprint("user", i%2)
		i++
		if i > 2 {
			if err := t.UntrackTopic(tracker, "room:fan", key); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := t.TrackTopic(tracker, "room:fan", key, map[string]int{"n": i}); err != nil {
			b.Fatal(err)
		}
		t.flush()
	}
}
