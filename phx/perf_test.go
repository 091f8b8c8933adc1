package phx_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/seance-go/seance/phx"
)

// TestTakeAndNotify: a push-style transport is told when the queue becomes
// non-empty and when the session closes, and Take never waits.
func TestTakeAndNotify(t *testing.T) {
	ep, _ := newEndpoint(t, phx.Config{})
	sess, err := ep.Open(phx.ConnectInfo{Transport: "test"}, phx.V2JSON(), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sess.Detach)
	woken := make(chan struct{}, 16)
	sess.SetNotify(func(bool) { woken <- struct{}{} })
	if len(woken) != 0 {
		t.Fatal("notified with nothing queued")
	}
	if fs, ce := sess.Take(); fs != nil || ce != nil {
		t.Fatalf("Take on an empty open session = %v, %v", fs, ce)
	}
	for i := 0; i < 3; i++ {
		if err := sess.Receive([]byte(fmt.Sprintf(`[null,"%d","phoenix","heartbeat",{}]`, i)), false); err != nil {
			t.Fatal(err)
		}
	}
	if len(woken) != 1 {
		t.Fatalf("%d notifications for 3 frames queued at once, want 1 (empty → non-empty)", len(woken))
	}
	<-woken
	fs, ce := sess.Take()
	if len(fs) != 3 || ce != nil {
		t.Fatalf("Take = %d frames, %v; want 3, nil", len(fs), ce)
	}
	for i, f := range fs {
		want := fmt.Sprintf(`[null,"%d","phoenix","phx_reply",{"status":"ok","response":{}}]`, i)
		if string(f.Data) != want {
			t.Errorf("frame %d = %s, want %s", i, f.Data, want)
		}
	}
	if err := sess.Receive([]byte(`[null,"9","phoenix","heartbeat",{}]`), false); err != nil {
		t.Fatal(err)
	}
	<-woken
	fs, _ = sess.Take()
	if len(fs) != 1 || string(fs[0].Data) != `[null,"9","phoenix","phx_reply",{"status":"ok","response":{}}]` {
		t.Fatalf("second Take = %v", fs)
	}
	sess.Close(phx.ErrShutdown)
	select {
	case <-woken:
	default:
		t.Fatal("not notified of the close")
	}
	fs, ce = sess.Take()
	if fs != nil || ce == nil || ce.Code != phx.CloseServiceRestart {
		t.Fatalf("Take after close = %v, %v; want the 1012 close error", fs, ce)
	}
}

// TestSetNotifyWhenReady: SetNotify on a session that already has frames
// or is closed calls the function at once.
func TestSetNotifyWhenReady(t *testing.T) {
	ep, _ := newEndpoint(t, phx.Config{})
	sess, err := ep.Open(phx.ConnectInfo{Transport: "test"}, phx.V2JSON(), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sess.Detach)
	sess.Close(phx.ErrShutdown)
	n := 0
	sess.SetNotify(func(bool) { n++ })
	if n != 1 {
		t.Fatalf("SetNotify on a closed session called f %d times, want 1", n)
	}
}

// TestHubManyJoinsAndLeaves: removing subscribers from the middle of a
// topic keeps every other subscriber reached exactly once.
func TestHubManyJoinsAndLeaves(t *testing.T) {
	ep, _ := newEndpoint(t, phx.Config{})
	const n = 40
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = open(t, ep)
		clients[i].send(`["1","1","room:many","phx_join",{}]`)
		clients[i].next()
	}
	left := map[int]bool{}
	for i := 0; i < n; i += 3 {
		clients[i].send(`["1","2","room:many","phx_leave",{}]`)
		clients[i].expect(`["1","2","room:many","phx_reply",{"status":"ok","response":{}}]`,
			`["1","1","room:many","phx_close",{}]`)
		left[i] = true
	}
	got, err := ep.Broadcast(context.Background(), "room:many", "hello", map[string]int{"x": 1})
	if err != nil || got != n-len(left) {
		t.Fatalf("Broadcast = %d, %v; want %d", got, err, n-len(left))
	}
	for i, c := range clients {
		if left[i] {
			c.expectNothing()
			continue
		}
		c.expect(`[null,null,"room:many","hello",{"x":1}]`)
		c.expectNothing()
	}
	// rejoin one that left: the snapshot is rebuilt
	clients[0].send(`["5","5","room:many","phx_join",{}]`)
	clients[0].next()
	if got, _ := ep.Broadcast(context.Background(), "room:many", "again", nil); got != n-len(left)+1 {
		t.Fatalf("Broadcast after a rejoin reached %d, want %d", got, n-len(left)+1)
	}
}

// blockHandler blocks "block" events until release is closed.
type blockHandler struct {
	entered chan struct{}
	release chan struct{}
}

func (h *blockHandler) Join(context.Context, *phx.Channel, phx.Payload) (any, error) { return nil, nil }

func (h *blockHandler) HandleIn(ctx context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
	if msg.Event == "block" {
		h.entered <- struct{}{}
		<-h.release
	}
	return phx.Ok(nil), nil
}

// TestBlockedChannelDoesNotStarveOthers: while callbacks of some channels
// block, other channels' events are still handled (a pool worker is started
// when none is idle).
func TestBlockedChannelDoesNotStarveOthers(t *testing.T) {
	ep, _ := newEndpoint(t, phx.Config{})
	bh := &blockHandler{entered: make(chan struct{}), release: make(chan struct{})}
	ep.Handle("block:*", bh)
	const blocked = 8
	var bcs []*client
	for i := 0; i < blocked; i++ {
		c := open(t, ep)
		c.send(`["1","1","block:x","phx_join",{}]`)
		c.next()
		c.send(`["1","2","block:x","block",{}]`)
		<-bh.entered
		bcs = append(bcs, c)
	}
	free := open(t, ep)
	free.send(`["1","1","room:free","phx_join",{}]`)
	free.next()
	free.send(`["1","2","room:free","echo",{"ok":1}]`)
	free.expect(`["1","2","room:free","phx_reply",{"status":"ok","response":{"ok":1}}]`)
	close(bh.release)
	for _, c := range bcs {
		c.expect(`["1","2","block:x","phx_reply",{"status":"ok","response":{}}]`)
	}
}

// TestShutdownContextEndsFirst: Shutdown returns the context's error when
// a callback outlives it, and leaves nothing running behind it (goleak in
// TestMain checks once the callback is released).
func TestShutdownContextEndsFirst(t *testing.T) {
	ep := phx.NewEndpoint(phx.Config{Logger: quietLogger()})
	bh := &blockHandler{entered: make(chan struct{}), release: make(chan struct{})}
	ep.Handle("block:*", bh)
	c := open(t, ep)
	c.send(`["1","1","block:x","phx_join",{}]`)
	c.next()
	c.send(`["1","2","block:x","block",{}]`)
	<-bh.entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ep.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with an ended context = %v, want context.Canceled", err)
	}
	close(bh.release)
	c.Sess.Detach()
	ctx2, cancel2 := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel2()
	if err := ep.Shutdown(ctx2); err != nil {
		t.Fatalf("second Shutdown after the callback returned: %v", err)
	}
}

// TestBroadcastLargeTopicSplit: a topic large enough for its publish to be
// split over several goroutines still reaches every subscriber exactly once,
// in the publisher's order, and leaves out the sender of broadcast_from.
func TestBroadcastLargeTopicSplit(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	ep, _ := newEndpoint(t, phx.Config{})
	const n = 1100 // four parts of at least 256
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = open(t, ep)
		clients[i].send(`["1","1","room:big","phx_join",{}]`)
		clients[i].next()
	}
	for _, ev := range []string{"one", "two"} {
		if got, err := ep.Broadcast(context.Background(), "room:big", ev, nil); err != nil || got != n {
			t.Fatalf("Broadcast %s = %d, %v; want %d", ev, got, err, n)
		}
	}
	clients[7].send(`["1","2","room:big","broadcast_from",{"m":"x"}]`)
	clients[7].expect(`[null,null,"room:big","one",{}]`, `[null,null,"room:big","two",{}]`,
		`["1","2","room:big","phx_reply",`+okEmpty+`]`)
	clients[7].expectNothing()
	for i, c := range clients {
		if i == 7 {
			continue
		}
		c.expect(`[null,null,"room:big","one",{}]`, `[null,null,"room:big","two",{}]`, `[null,null,"room:big","shout",{"m":"x"}]`)
	}
	for _, c := range clients {
		c.expectNothing()
	}
}
