package phx_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/seance-go/seance/internal/membus"
	"github.com/seance-go/seance/phx"
)

// TestClaim: a claimed topic's broadcasts reach the claim once each, in
// order, and none of the topic's channels; after release they reach the
// channels again, and an old release does not end a newer claim.
func TestClaim(t *testing.T) {
	ep, _ := newEndpoint(t, phx.Config{})
	c1, c2 := open(t, ep), open(t, ep)
	for _, c := range []*client{c1, c2} {
		c.send(`["1","1","room:c","phx_join",{}]`)
		c.expect(`["1","1","room:c","phx_reply",{"status":"ok","response":{}}]`)
	}
	var mu sync.Mutex
	var got []string
	release := ep.Claim("room:c", func(b *phx.Broadcast) {
		mu.Lock()
		got = append(got, b.Event+":"+string(b.Payload.Data))
		mu.Unlock()
	})
	for _, ev := range []string{"a", "b", "c"} {
		n, err := ep.Broadcast(context.Background(), "room:c", ev, map[string]int{"n": 1})
		if err != nil || n != 2 {
			t.Fatalf("Broadcast = %d, %v; want 2 (the claim acts for both channels)", n, err)
		}
	}
	if _, err := ep.BroadcastLocal("room:c", "d", nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if want := []string{`a:{"n":1}`, `b:{"n":1}`, `c:{"n":1}`, `d:{}`}; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Errorf("claim got %q, want %q", got, want)
	}
	mu.Unlock()
	c1.expectNothing()
	c2.expectNothing()

	release()
	newer := ep.Claim("room:c", func(*phx.Broadcast) {})
	release() // a second call, after a replacement: nothing
	if n, _ := ep.Broadcast(context.Background(), "room:c", "e", nil); n != 2 {
		t.Fatalf("Broadcast under the newer claim = %d", n)
	}
	c1.expectNothing()
	newer()
	if _, err := ep.Broadcast(context.Background(), "room:c", "f", nil); err != nil {
		t.Fatal(err)
	}
	c1.expect(`[null,null,"room:c","f",{}]`)
	c2.expect(`[null,null,"room:c","f",{}]`)
}

// TestSubscribed: without an adapter every topic counts as subscribed; with
// one, a topic is once the adapter confirmed its first join's subscription,
// and no longer after its last channel left.
func TestSubscribed(t *testing.T) {
	alone, _ := newEndpoint(t, phx.Config{})
	if !alone.Subscribed("room:x") {
		t.Error("without an adapter Subscribed must be true")
	}
	ep, _ := newEndpoint(t, phx.Config{PubSub: membus.New().Node("n1")})
	if ep.Subscribed("room:s") {
		t.Fatal("subscribed before any join")
	}
	c := open(t, ep)
	c.send(`["1","1","room:s","phx_join",{}]`)
	c.expect(`["1","1","room:s","phx_reply",{"status":"ok","response":{}}]`)
	waitUntil(t, "the subscription", func() bool { return ep.Subscribed("room:s") })
	c.send(`["1","2","room:s","phx_leave",{}]`)
	c.expect(`["1","2","room:s","phx_reply",{"status":"ok","response":{}}]`)
	waitUntil(t, "the unsubscription", func() bool { return !ep.Subscribed("room:s") })
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, waitTimeout)
		}
		time.Sleep(time.Millisecond)
	}
}
