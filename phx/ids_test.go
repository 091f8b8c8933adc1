package phx_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/seance-go/seance/internal/membus"
	"github.com/seance-go/seance/phx"
)

func closed(s *phx.Session) bool { return s.Context().Err() != nil }

func waitClosed(t *testing.T, what string, s *phx.Session) {
	t.Helper()
	select {
	case <-s.Context().Done():
	case <-time.After(5 * time.Second):
		t.Fatalf("%s not closed", what)
	}
}

func shutdown(t *testing.T, ep *phx.Endpoint) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ep.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
}

// DisconnectID on one node closes the connections of that id on every
// node, and only those; a "disconnect" broadcast to the id topic does the
// same, as in Phoenix.
func TestDisconnectID(t *testing.T) {
	bus := membus.New()
	ea := phx.NewEndpoint(phx.Config{Logger: quietLogger(), PubSub: bus.Node("a")})
	eb := phx.NewEndpoint(phx.Config{Logger: quietLogger(), PubSub: bus.Node("b")})
	shutdown(t, ea)
	shutdown(t, eb)
	open := func(ep *phx.Endpoint, id string) *phx.Session {
		s, err := ep.Open(phx.ConnectInfo{Transport: "test", ID: id}, phx.V2JSON(), false)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Detach)
		return s
	}
	a1, a2 := open(ea, "user:1"), open(ea, "user:2")
	b1, bAnon := open(eb, "user:1"), open(eb, "")
	// b subscribes the id topic asynchronously.
	deadline := time.Now().Add(5 * time.Second)
	for !bus.Lookup("b").Subscribed("user:1") {
		if time.Now().After(deadline) {
			t.Fatal("b did not subscribe to user:1")
		}
		time.Sleep(time.Millisecond)
	}

	n, err := ea.DisconnectID(context.Background(), "user:1")
	if err != nil || n != 1 {
		t.Fatalf("DisconnectID = %d, %v; want 1 local", n, err)
	}
	waitClosed(t, "a's user:1", a1)
	waitClosed(t, "b's user:1", b1)
	if ce := b1.Err(); ce == nil || ce.Code != phx.CloseGoingAway || !errors.Is(ce, phx.ErrDisconnected) {
		t.Errorf("b's close = %v, want 1001 disconnected", ce)
	}
	if closed(a2) || closed(bAnon) {
		t.Error("other connections were closed")
	}
	// The last session of an id gone, its topic is unsubscribed.
	b1.Detach()
	deadline = time.Now().Add(5 * time.Second)
	for bus.Lookup("b").Subscribed("user:1") {
		if time.Now().After(deadline) {
			t.Fatal("b still subscribed to user:1")
		}
		time.Sleep(time.Millisecond)
	}

	// Phoenix's way: Broadcast(id, "disconnect").
	for !bus.Lookup("a").Subscribed("user:2") {
		time.Sleep(time.Millisecond)
	}
	if _, err := eb.Broadcast(context.Background(), "user:2", phx.DisconnectEvent, nil); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, "a's user:2", a2)
	if closed(bAnon) {
		t.Error("the anonymous connection was closed")
	}
}

// Shutdown closes connections DrainBatchSize at a time, DrainInterval
// apart; when its context ends, the rest at once.
func TestDrainBatches(t *testing.T) {
	ep := phx.NewEndpoint(phx.Config{Logger: quietLogger(), DrainBatchSize: 2, DrainInterval: time.Hour})
	var ss []*phx.Session
	for range 5 {
		s, err := ep.Open(phx.ConnectInfo{Transport: "test"}, phx.V2JSON(), false)
		if err != nil {
			t.Fatal(err)
		}
		context.AfterFunc(s.Context(), s.Detach)
		ss = append(ss, s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ep.Shutdown(ctx) }()
	count := func() int {
		n := 0
		for _, s := range ss {
			if closed(s) {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(5 * time.Second)
	for count() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("first batch not closed")
		}
		time.Sleep(time.Millisecond)
	}
	if n := count(); n != 2 {
		t.Fatalf("%d closed, want the first batch of 2", n)
	}
	if _, err := ep.Open(phx.ConnectInfo{Transport: "test"}, phx.V2JSON(), false); !errors.Is(err, phx.ErrShutdown) {
		t.Errorf("Open during the drain: %v, want ErrShutdown", err)
	}
	cancel()
	// The rest close at once when ctx ends; Shutdown reports the context's
	// end unless the sessions were all released first.
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown = %v", err)
	}
	if n := count(); n != 5 {
		t.Errorf("%d closed after the context ended, want 5", n)
	}
}
