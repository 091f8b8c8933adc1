package history_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/seance-go/seance/history"
	"github.com/seance-go/seance/internal/historytest"
	"github.com/seance-go/seance/internal/membus"
	"github.com/seance-go/seance/internal/sessiontest"
	"github.com/seance-go/seance/phx"
)

func TestMemoryStoreConformance(t *testing.T) {
	historytest.Conformance(t, historytest.Config{
		New: func(t *testing.T, maxEntries int, maxAge time.Duration) history.Store {
			return history.NewMemoryStore(history.MemoryOptions{MaxEntries: maxEntries, MaxAge: maxAge})
		},
	})
}

// gatedStore is a Store whose reads wait for the gate (or their ctx), or
// fail.
type gatedStore struct {
	history.Store
	gate chan struct{}
	fail bool

	mu    sync.Mutex
	reads int
}

func (s *gatedStore) wait(ctx context.Context) error {
	s.mu.Lock()
	s.reads++
	s.mu.Unlock()
	if s.fail {
		return errors.New("broker down")
	}
	select {
	case <-s.gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *gatedStore) Since(ctx context.Context, topic string, pos history.Position) (history.Recovery, error) {
	if err := s.wait(ctx); err != nil {
		return history.Recovery{}, err
	}
	return s.Store.Since(ctx, topic, pos)
}

func (s *gatedStore) Current(ctx context.Context, topic string) (history.Position, error) {
	if err := s.wait(ctx); err != nil {
		return history.Position{}, err
	}
	return s.Store.Current(ctx, topic)
}

func (s *gatedStore) readCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

// stalledRecovery: a client gets messages 1–3 and leaves, 4–10 are
// published, and a second client (c2) rejoins to recover from offset 3; it
// returns once the Store's recovery read for c2 waits at st's gate. opts
// gets st as its Store.
func stalledRecovery(t *testing.T, opts history.Options) (*env, *gatedStore, *sessiontest.Client, posPayload) {
	t.Helper()
	st := &gatedStore{Store: history.NewMemoryStore(history.MemoryOptions{}), gate: make(chan struct{})}
	close(st.gate)
	opts.Store = st
	e := setup(t, opts)
	c := e.open(t)
	p := join(t, c, "1", `{}`)
	e.publish(t, 1, 3)
	expectMsgs(t, c, p.Epoch, 1, 3)
	c.Sess.Detach()
	e.publish(t, 4, 10)

	st.gate = make(chan struct{})
	c2 := e.open(t)
	c2.Send(`["5","5","room:1","phx_join",{"recover":{"epoch":"` + p.Epoch + `","offset":3}}]`)
	if f := next(t, c2); f.event != "phx_reply" {
		t.Fatalf("got %s, want the join reply", f.event)
	}
	waitFor(t, "the recovery read", func() bool { return st.readCount() == 2 })
	return e, st, c2, p
}

// TestSlowStoreHoldsLive: while the recovery read is under way, live
// messages are held; then the missed ones go out, then the held ones,
// each once, in order.
func TestSlowStoreHoldsLive(t *testing.T) {
	e, st, c2, p := stalledRecovery(t, history.Options{})
	e.publish(t, 11, 12) // live, held
	c2.ExpectNothing()
	close(st.gate)
	f := next(t, c2)
	var pos posPayload
	json.Unmarshal(f.payload, &pos)
	if f.event != history.PositionEvent || pos.Recovered == nil || !*pos.Recovered {
		t.Fatalf("got %s %s, want recovered", f.event, f.payload)
	}
	expectMsgs(t, c2, p.Epoch, 4, 12)
	e.publish(t, 13, 13)
	expectMsgs(t, c2, p.Epoch, 13, 13)
	c2.ExpectNothing()
}

// TestStoreErrorNotRecovered: a failing read gives {"recovered": false}
// at once, and live messages still flow.
func TestStoreErrorNotRecovered(t *testing.T) {
	st := &gatedStore{Store: history.NewMemoryStore(history.MemoryOptions{}), gate: make(chan struct{})}
	close(st.gate)
	e := setup(t, history.Options{Store: st})
	c := e.open(t)
	p := join(t, c, "1", `{}`)
	st.fail = true
	p2 := join(t, e.open(t), "2", `{"recover":{"epoch":"`+p.Epoch+`","offset":0}}`)
	if p2.Recovered == nil || *p2.Recovered {
		t.Fatalf("position %+v, want recovered false", p2)
	}
}

// TestHungStoreTimesOut: a read that never answers ends at
// RecoverTimeout with {"recovered": false}; the connection's reader is
// never held (the client's pushes are answered meanwhile).
func TestHungStoreTimesOut(t *testing.T) {
	st := &gatedStore{Store: history.NewMemoryStore(history.MemoryOptions{}), gate: make(chan struct{})}
	e := &env{ep: phx.NewEndpoint(phx.Config{}), hist: history.New(history.Options{Store: st, RecoverTimeout: 2 * time.Second})}
	e.ep.Handle("room:*", e.hist.Handler(phx.HandlerFuncs{
		InFunc: func(context.Context, *phx.Channel, *phx.Message) (*phx.Reply, error) { return phx.Ok(nil), nil },
	}))
	t.Cleanup(func() { e.ep.Shutdown(context.Background()) })
	c := e.open(t)
	c.Send(`["1","1","room:1","phx_join",{"recover":{"epoch":"x","offset":3}}]`)
	if f := next(t, c); f.event != "phx_reply" {
		t.Fatalf("got %s, want the join reply", f.event)
	}
	c.Send(`["1","2","room:1","ping",{}]`)
	if f := next(t, c); f.event != "phx_reply" {
		t.Fatalf("got %s %s before the push's reply: the reader waited on the store", f.event, f.payload)
	}
	f := next(t, c)
	var p posPayload
	json.Unmarshal(f.payload, &p)
	if f.event != history.PositionEvent || p.Recovered == nil || *p.Recovered {
		t.Fatalf("got %s %s, want recovered false", f.event, f.payload)
	}
}

// TestGapFilledFromStore: a message that reaches a channel before the one
// before it (another node's, slower) is held while the gap is read from
// the Store; the channel gets both in order, once.
func TestGapFilledFromStore(t *testing.T) {
	bus := membus.New()
	store := history.NewMemoryStore(history.MemoryOptions{})
	nodeA, nodeB := bus.Node("a"), bus.Node("b")
	epA := phx.NewEndpoint(phx.Config{PubSub: nodeA})
	epB := phx.NewEndpoint(phx.Config{PubSub: nodeB})
	hA := history.New(history.Options{Store: store, Endpoint: epA})
	hB := history.New(history.Options{Store: store, Endpoint: epB})
	epA.Handle("room:*", hA.Handler(phx.HandlerFuncs{}))
	epB.Handle("room:*", hB.Handler(phx.HandlerFuncs{}))
	t.Cleanup(func() {
		epA.Shutdown(context.Background())
		epB.Shutdown(context.Background())
	})
	ctx := context.Background()
	eB := &env{ep: epB, hist: hB}
	c := eB.open(t)
	p := join(t, c, "1", `{}`)

	// Broadcasts from node a reach node b's client.
	for i := 1; i <= 3; i++ {
		if _, err := hA.Broadcast(ctx, "room:1", "msg", map[string]int{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	expectMsgs(t, c, p.Epoch, 1, 3)

	// Message 4 is appended but its broadcast is lost (node a is cut off
	// the bus); message 5 arrives: 4 is read from the store.
	nodeA.Cut()
	if _, err := hA.Broadcast(ctx, "room:1", "msg", map[string]int{"n": 4}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "node a's broadcast", func() bool { return epA.PubSubStats().Published == 4 })
	nodeA.Restore()
	if _, err := hB.Broadcast(ctx, "room:1", "msg", map[string]int{"n": 5}); err != nil {
		t.Fatal(err)
	}
	expectMsgs(t, c, p.Epoch, 4, 5)
	c.ExpectNothing()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// setupEndpoint is setup with the History delivering through the endpoint
// (Options.Endpoint), as on a cluster.
func setupEndpoint(t *testing.T, opts history.Options) *env {
	t.Helper()
	ep := phx.NewEndpoint(phx.Config{})
	opts.Endpoint = ep
	return setupOn(t, ep, opts)
}

// TestEndpointPlainBroadcast: with the History delivering through the
// endpoint, a plain Endpoint.Broadcast on a tracked topic still reaches
// its clients, without a position.
func TestEndpointPlainBroadcast(t *testing.T) {
	e := setupEndpoint(t, history.Options{})
	c := e.open(t)
	p := join(t, c, "1", `{}`)
	e.publish(t, 1, 1)
	expectMsgs(t, c, p.Epoch, 1, 1)
	if _, err := e.ep.Broadcast(context.Background(), "room:1", "note", map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	c.ExpectText(`[null,null,"room:1","note",{"a":"b"}]`)
	e.publish(t, 2, 2)
	expectMsgs(t, c, p.Epoch, 2, 2)
}

// TestForgedPositionDropped: a wire message that an application
// broadcasts itself, with a position ahead of the Store, is dropped when
// the gap it opens is read; later messages flow.
func TestForgedPositionDropped(t *testing.T) {
	e := setupEndpoint(t, history.Options{Logger: slog.New(slog.DiscardHandler)})
	c := e.open(t)
	p := join(t, c, "1", `{}`)
	e.publish(t, 1, 2)
	expectMsgs(t, c, p.Epoch, 1, 2)
	forged := map[string]any{"r": p.Epoch + ":1000", "e": "msg", "p": map[string]int{"n": 1000}}
	if _, err := e.ep.Broadcast(context.Background(), "room:1", "seance:history", forged); err != nil {
		t.Fatal(err)
	}
	e.publish(t, 3, 4)
	expectMsgs(t, c, p.Epoch, 3, 4)
	c.ExpectNothing()
}

// TestMaxHeldOverflowReadBack: live messages past MaxHeld during a
// recovery read are dropped, then read back from the Store as a gap when
// the next one comes: the client gets every message once, in order.
func TestMaxHeldOverflowReadBack(t *testing.T) {
	e, st, c2, p := stalledRecovery(t, history.Options{MaxHeld: 2})
	e.publish(t, 11, 15) // 11 and 12 held, 13…15 dropped
	close(st.gate)
	if f := next(t, c2); f.event != history.PositionEvent {
		t.Fatalf("got %s, want the position", f.event)
	}
	expectMsgs(t, c2, p.Epoch, 4, 12)
	e.publish(t, 16, 16) // the gap 13…15 is read back
	expectMsgs(t, c2, p.Epoch, 13, 16)
	c2.ExpectNothing()
}

// TestJoinGetsWhatFollowsItsJoin: messages broadcast after a join but
// appended before its position is read (the read is slow) still reach the
// client, after a position just before them.
func TestJoinGetsWhatFollowsItsJoin(t *testing.T) {
	st := &gatedStore{Store: history.NewMemoryStore(history.MemoryOptions{}), gate: make(chan struct{})}
	e := setup(t, history.Options{Store: st})
	c := e.open(t)
	c.Send(`["1","1","room:1","phx_join",{}]`)
	if f := next(t, c); f.event != "phx_reply" {
		t.Fatalf("got %s, want the join reply", f.event)
	}
	waitFor(t, "the position read", func() bool { return st.readCount() == 1 })
	e.publish(t, 1, 3) // after the join, before the read's answer
	close(st.gate)
	f := next(t, c)
	var p posPayload
	json.Unmarshal(f.payload, &p)
	if f.event != history.PositionEvent || p.Offset != 0 || p.Recovered != nil {
		t.Fatalf("got %s %s, want the position before message 1", f.event, f.payload)
	}
	expectMsgs(t, c, p.Epoch, 1, 3)
	c.ExpectNothing()
}
