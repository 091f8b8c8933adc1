package adaptertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seance-go/seance/internal/sessiontest"
	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/pubsub/internal/adapter"
)

// Stall is how long testHungServer keeps the server paused at most; the
// test resumes it as soon as what must happen during the stall happened,
// and fails if the stall had to end first.
const Stall = 10 * time.Second

// peer is an endpoint whose PubSub is an adapter under test, watched.
type peer struct {
	*phx.Endpoint
	calls *watched
}

// endpoint returns a peer named node in mode with plain channels on
// "room:*", once its adapter is connected; opts change its configuration.
// At the end of the test the endpoint shuts down, then the adapter closes.
func (b *Broker) endpoint(t *testing.T, node string, mode adapter.Mode, opts ...func(*phx.Config)) *peer {
	t.Helper()
	a := b.New(t, node, mode)
	w := &watched{PubSub: a, returned: map[string]int{}}
	cfg := phx.Config{PubSub: w, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		o(&cfg)
	}
	ep := phx.NewEndpoint(cfg)
	ep.Handle("room:*", phx.HandlerFuncs{})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Wait)
		defer cancel()
		if err := ep.Shutdown(ctx); err != nil {
			t.Errorf("%s: Shutdown: %v", node, err)
		}
		if err := a.Close(); err != nil {
			t.Errorf("%s: Close: %v", node, err)
		}
	})
	WaitFor(t, Wait, node+" connected", func() bool { return b.Stats(a).Connected })
	return &peer{Endpoint: ep, calls: w}
}

// watched counts, per topic, the Subscribe calls of the endpoint that
// returned.
type watched struct {
	phx.PubSub
	mu       sync.Mutex
	returned map[string]int
}

func (w *watched) Subscribe(ctx context.Context, topic string) error {
	err := w.PubSub.Subscribe(ctx, topic)
	w.mu.Lock()
	w.returned[topic]++
	w.mu.Unlock()
	return err
}

func (w *watched) subscribesReturned(topic string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.returned[topic]
}

// client is a session of an endpoint driven in process: Receive is what a
// transport's reader calls for each inbound frame.
type client struct {
	*sessiontest.Client
	t   *testing.T
	buf []phx.Frame
}

func openClient(t *testing.T, ep *phx.Endpoint) *client {
	t.Helper()
	return &client{Client: sessiontest.Open(t, ep, phx.ConnectInfo{Transport: "test"}, phx.V2JSON(), false), t: t}
}

// frame is a v2 JSON frame, decoded.
type frame struct {
	JoinRef, Ref *string
	Topic, Event string
	Payload      json.RawMessage
}

func (f *frame) UnmarshalJSON(b []byte) error {
	return json.Unmarshal(b, &[]any{&f.JoinRef, &f.Ref, &f.Topic, &f.Event, &f.Payload})
}

// next returns the next frame the client received within d, or nil.
func (c *client) next(d time.Duration) *frame {
	c.t.Helper()
	if len(c.buf) == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		fs, err := c.Sess.Next(ctx)
		if err != nil {
			return nil
		}
		c.buf = fs
	}
	var f frame
	if err := json.Unmarshal(c.buf[0].Data, &f); err != nil {
		c.t.Fatalf("bad frame %q: %v", c.buf[0].Data, err)
	}
	c.buf = c.buf[1:]
	return &f
}

// await returns the next frame with event on topic, skipping others,
// failing the test after Wait.
func (c *client) await(topic, event string) *frame {
	c.t.Helper()
	deadline := time.Now().Add(Wait)
	for time.Now().Before(deadline) {
		if f := c.next(time.Until(deadline)); f != nil && f.Topic == topic && f.Event == event {
			return f
		}
	}
	c.t.Fatalf("no %q on %q within %v", event, topic, Wait)
	return nil
}

// broadcastUntil broadcasts event on topic from ep every 20ms until c
// receives it (a subscription may still be landing); it returns how many
// broadcasts it made.
func broadcastUntil(t *testing.T, ep *phx.Endpoint, c *client, topic, event string) int {
	t.Helper()
	deadline := time.Now().Add(Wait)
	for n := 1; ; n++ {
		if _, err := ep.Broadcast(context.Background(), topic, event, nil); err != nil {
			t.Fatalf("Broadcast: %v", err)
		}
		for until := time.Now().Add(20 * time.Millisecond); time.Now().Before(until); {
			if f := c.next(time.Until(until)); f != nil && f.Topic == topic && f.Event == event {
				return n
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no broadcast on %q reached the other node", topic)
		}
	}
}

// testHungServer pauses the server (a hung broker: connections open,
// nothing answers) for up to Stall. Meanwhile joins of new topics and a
// heartbeat behind them are answered before any Subscribe call for those
// topics returned (in Topics mode; they cannot succeed while the server is
// paused), 250 local broadcasts all reach the local subscriber, and broadcasts for other nodes wait in the endpoint's
// queue; all of it must happen while the server is still paused. Once it
// resumes, broadcasts cross nodes again, on the old topic and on the ones
// joined during the stall, and every broadcast queued is accounted for.
func testHungServer(t *testing.T, br *Broker) {
	modes(t, func(t *testing.T, mode adapter.Mode) {
		epA, epB := br.endpoint(t, "a", mode), br.endpoint(t, "b", mode)
		b := openClient(t, epB.Endpoint)
		b.Send(`["1","1","room:old","phx_join",{}]`)
		b.await("room:old", "phx_reply")
		sent := broadcastUntil(t, epA.Endpoint, b, "room:old", "warm")

		br.Server.Pause()
		var resumed atomic.Bool
		stall := time.AfterFunc(Stall, func() { resumed.Store(true); br.Server.Resume() })
		defer func() {
			if stall.Stop() {
				br.Server.Resume()
			}
		}()
		during := func(what string) {
			t.Helper()
			if resumed.Load() {
				t.Fatalf("%s only after the server had been paused for %v", what, Stall)
			}
		}

		// One reader feeds three joins of new topics and a heartbeat.
		start := time.Now()
		read := make(chan struct{})
		go func() {
			defer close(read)
			for i := range 3 {
				b.Sess.Receive(fmt.Appendf(nil, `["j%d","j%d","room:new%d","phx_join",{}]`, i, i, i), false)
			}
			b.Sess.Receive([]byte(`[null,"hb","phoenix","heartbeat",{}]`), false)
		}()
		for i := range 3 {
			if f := b.await(fmt.Sprintf("room:new%d", i), "phx_reply"); string(f.Payload) != `{"status":"ok","response":{}}` {
				t.Errorf("join %d answered %s", i, f.Payload)
			}
		}
		b.await("phoenix", "phx_reply")
		during("the joins and the heartbeat were answered")
		t.Logf("3 joins and a heartbeat answered in %v during the stall", time.Since(start))
		if mode == adapter.Topics {
			for i := range 3 {
				topic := fmt.Sprintf("room:new%d", i)
				if n := epB.calls.subscribesReturned(topic); n != 0 {
					t.Errorf("the join of %s was answered after its Subscribe returned", topic)
				}
			}
			if st := epB.PubSubStats(); st.Pending != 3 {
				t.Errorf("b: %d subscriptions pending during the stall, want 3", st.Pending)
			}
		}
		<-read

		// Local broadcasts on b all arrive, in order; a's broadcasts for
		// other nodes wait.
		start = time.Now()
		for i := range 250 {
			if n, err := epB.Broadcast(context.Background(), "room:old", "local", map[string]int{"i": i}); n != 1 || err != nil {
				t.Fatalf("local broadcast %d: reached %d, %v", i, n, err)
			}
		}
		for i := range 250 {
			if f := b.await("room:old", "local"); string(f.Payload) != fmt.Sprintf(`{"i":%d}`, i) {
				t.Fatalf("local broadcast %d arrived as %s", i, f.Payload)
			}
		}
		t.Logf("250 local broadcasts delivered in %v during the stall", time.Since(start))
		for range 20 {
			if _, err := epA.Broadcast(context.Background(), "room:old", "during", nil); err != nil {
				t.Fatalf("a: Broadcast during the stall: %v", err)
			}
		}
		sent += 20
		during("the local broadcasts were delivered")

		if stall.Stop() {
			br.Server.Resume()
		}
		for i := range 3 {
			sent += broadcastUntil(t, epA.Endpoint, b, fmt.Sprintf("room:new%d", i), "after")
		}
		sent += broadcastUntil(t, epA.Endpoint, b, "room:old", "after")
		WaitFor(t, Wait, "b: no subscription pending", func() bool { return epB.PubSubStats().Pending == 0 })
		WaitFor(t, Wait, "a: every broadcast published, failed or dropped", func() bool {
			st := epA.PubSubStats()
			return st.Queued == 0 && st.Published+st.PublishErrors+st.Dropped == uint64(sent)
		})
	})
}
