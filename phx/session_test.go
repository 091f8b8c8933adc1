package phx_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/seance-go/seance/phx"
)

// TestPerChannelOrdering: messages of one channel are handled strictly in
// arrival order while several channels run concurrently.
func TestPerChannelOrdering(t *testing.T) {
	const perChannel = 300
	topics := []string{"room:a", "room:b", "room:c"}
	ep, _ := newEndpoint(t, phx.Config{QueueLength: 10 * perChannel * len(topics)})
	c := open(t, ep)
	for i, topic := range topics {
		c.send(fmt.Sprintf(`["j%d","j%d","%s","phx_join",{}]`, i, i, topic))
		c.next()
	}
	for n := 0; n < perChannel; n++ {
		for i, topic := range topics {
			c.send(fmt.Sprintf(`["j%d","%d","%s","echo",{"n":%d}]`, i, n, topic, n))
		}
	}
	last := map[string]int{}
	for _, topic := range topics {
		last[topic] = -1
	}
	for k := 0; k < perChannel*len(topics); k++ {
		f := c.next().([]any)
		topic := f[2].(string)
		n := int(f[4].(map[string]any)["response"].(map[string]any)["n"].(float64))
		if f[1] != fmt.Sprint(n) {
			t.Fatalf("reply ref %v carries n=%d", f[1], n)
		}
		if n != last[topic]+1 {
			t.Fatalf("%s: reply %d after %d", topic, n, last[topic])
		}
		last[topic] = n
	}
	c.expectNothing()
}

// TestSlowConsumer: a client that never reads is disconnected when its
// queue overflows; the queue is released and channels terminate.
func TestSlowConsumer(t *testing.T) {
	t.Run("frame count", func(t *testing.T) {
		ep, rec := newEndpoint(t, phx.Config{QueueLength: 4})
		c := open(t, ep)
		c.send(`["1","1","room:1","phx_join",{}]`) // frame 1
		for i := 0; i < 20; i++ {                  // frames 2..4 fit, the 5th overflows
			c.send(fmt.Sprintf(`[null,"%d","phoenix","heartbeat",{}]`, i))
		}
		checkSlowConsumerClosed(t, c)
		rec.expectReason(t, "room:1", "1", phx.ErrSlowConsumer)
	})
	t.Run("bytes", func(t *testing.T) {
		ep, rec := newEndpoint(t, phx.Config{QueueBytes: 4096})
		c := open(t, ep)
		c.send(`["1","1","room:1","phx_join",{}]`)
		big := strings.Repeat("x", 1500)
		for i := 0; i < 4; i++ {
			if _, err := ep.Broadcast(context.Background(), "room:1", "big", map[string]string{"s": big}); err != nil {
				t.Fatal(err)
			}
		}
		checkSlowConsumerClosed(t, c)
		rec.expectReason(t, "room:1", "1", phx.ErrSlowConsumer)
		if n, _ := ep.Broadcast(context.Background(), "room:1", "big", nil); n != 0 {
			t.Errorf("the closed channel is still subscribed (%d subscribers)", n)
		}
	})
}

func checkSlowConsumerClosed(t *testing.T, c *client) {
	t.Helper()
	if n := c.Sess.Pending(); n != 0 {
		t.Errorf("%d frames still queued after the slow-consumer close", n)
	}
	select {
	case <-c.Sess.Context().Done():
	default:
		t.Error("session context not cancelled")
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	fs, err := c.Sess.Next(ctx)
	if len(fs) != 0 || !isClose(err, phx.ClosePolicyViolation) {
		t.Errorf("Next = %d frames, %v; want close 1008", len(fs), err)
	}
	// input after the close is ignored without panicking
	if err := c.Sess.Receive([]byte(`[null,"x","phoenix","heartbeat",{}]`), false); err != nil {
		t.Errorf("Receive after close: %v", err)
	}
	if err := c.Sess.Receive([]byte(`["2","2","room:2","phx_join",{}]`), false); err != nil {
		t.Errorf("Receive after close: %v", err)
	}
	if n := c.Sess.Pending(); n != 0 {
		t.Errorf("%d frames queued on a closed session", n)
	}
}

// pump plays a transport: it drains the session until it closes, then
// detaches, and reports the close error.
func pump(sess *phx.Session, wg *sync.WaitGroup, errs chan<- error) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer sess.Detach()
		for {
			_, err := sess.Next(context.Background())
			if err != nil {
				errs <- err
				return
			}
		}
	}()
}

func TestShutdown(t *testing.T) {
	ep, rec := newEndpoint(t, phx.Config{})
	const n = 3
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		c := open(t, ep)
		c.send(fmt.Sprintf(`["%d","%d","room:%d","phx_join",{}]`, i, i, i))
		c.next()
		pump(c.Sess, &wg, errs)
	}
	if got := ep.Sessions(); got != n {
		t.Fatalf("Sessions() = %d, want %d", got, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := ep.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !isClose(err, phx.CloseServiceRestart) || !errors.Is(err, phx.ErrShutdown) {
			t.Errorf("session closed with %v, want 1012 matching ErrShutdown", err)
		}
	}
	if rec.count() != n {
		t.Errorf("%d Terminators ran before Shutdown returned, want %d", rec.count(), n)
	}
	for i := 0; i < n; i++ {
		rec.expectReason(t, fmt.Sprintf("room:%d", i), fmt.Sprint(i), phx.ErrShutdown)
	}
	if got := ep.Sessions(); got != 0 {
		t.Errorf("Sessions() = %d after Shutdown", got)
	}
	if _, err := ep.Open(phx.ConnectInfo{}, phx.V2JSON(), true); !errors.Is(err, phx.ErrShutdown) {
		t.Errorf("Open after Shutdown = %v, want ErrShutdown", err)
	}
}

// TestShutdownWaitsForTransports: Shutdown returns ctx.Err() while a
// transport still holds its session.
func TestShutdownWaitsForTransports(t *testing.T) {
	ep, _ := newEndpoint(t, phx.Config{})
	c := open(t, ep) // detached only at cleanup
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ep.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown = %v, want context.Canceled", err)
	}
	if _, err := c.Sess.Next(context.Background()); !isClose(err, phx.CloseServiceRestart) {
		t.Errorf("Next = %v, want close 1012", err)
	}
}

func TestDetachTerminatesWithDisconnected(t *testing.T) {
	ep, rec := newEndpoint(t, phx.Config{})
	c := open(t, ep)
	c.send(`["1","1","room:1","phx_join",{}]`)
	c.send(`["2","2","out:1","phx_join",{}]`)
	c.expect(`["1","1","room:1","phx_reply",`+okEmpty+`]`, `["2","2","out:1","phx_reply",`+okEmpty+`]`)
	c.Sess.Detach()
	c.Sess.Detach() // idempotent
	rec.expectReason(t, "room:1", "1", phx.ErrDisconnected)
	rec.expectReason(t, "out:1", "2", phx.ErrDisconnected)
	if _, err := c.Sess.Next(context.Background()); !isClose(err, phx.CloseGoingAway) {
		t.Errorf("Next after Detach = %v, want close 1001", err)
	}
	if ep.Sessions() != 0 {
		t.Errorf("Sessions() = %d after Detach", ep.Sessions())
	}
}

// TestCloseFlushesQueue: frames queued before a normal close are still
// returned, then the close error.
func TestCloseFlushesQueue(t *testing.T) {
	ep, _ := newEndpoint(t, phx.Config{})
	c := open(t, ep)
	c.send(`[null,"1","phoenix","heartbeat",{}]`)
	c.Sess.Close(&phx.CloseError{Code: 4000, Reason: "custom"})
	c.expect(`[null,"1","phoenix","phx_reply",` + okEmpty + `]`)
	_, err := c.Sess.Next(context.Background())
	var ce *phx.CloseError
	if !errors.As(err, &ce) || ce.Code != 4000 || ce.Reason != "custom" {
		t.Errorf("Next = %v, want the custom close error", err)
	}
}

func TestNextHonoursContext(t *testing.T) {
	ep, _ := newEndpoint(t, phx.Config{})
	c := open(t, ep)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Sess.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next = %v, want context.Canceled", err)
	}
}

// TestBinaryRefused: a session opened without binary support never gets a
// binary frame; pushes fail, replies become an error reply, broadcasts are
// skipped for it.
func TestBinaryRefused(t *testing.T) {
	ep, _ := newEndpoint(t, phx.Config{})
	c := openWith(t, ep, phx.V2JSON(), false)
	c.send(`["1","1","room:1","phx_join",{}]`)
	c.next()
	c.send(`["1","2","room:1","binary",{}]`)
	c.expect(`["1","2","room:1","phx_reply",{"status":"error","response":{"push":"` + phx.ErrBinaryUnsupported.Error() + `"}}]`)
	c.send(`["1","3","room:1","binreply",{}]`)
	c.expect(`["1","3","room:1","phx_reply",{"status":"error","response":{"reason":"reply not sendable"}}]`)
	// a binary push from the client is still accepted (long-poll carries it
	// as base64 text and hands it over as binary)
	if err := c.Sess.Receive(binaryPush("1", "4", "room:1", "echo", []byte("x")), true); err != nil {
		t.Fatalf("binary push on a text-only transport: %v", err)
	}
	c.expect(`["1","4","room:1","phx_reply",{"status":"error","response":{"reason":"reply not sendable"}}]`)
	if n, err := ep.Broadcast(context.Background(), "room:1", "bin", phx.Binary{1}); err != nil || n != 1 {
		t.Fatalf("Broadcast = %d, %v", n, err)
	}
	c.expectNothing()
}
