package phx_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/seance-go/seance/phx"
)

// stallPubSub is an adapter whose broker can hang: with hung set, every
// Subscribe, Unsubscribe and Publish blocks until the test hands it a
// token on step or its ctx ends (as a real adapter's would when Shutdown
// cancels it). It records the calls as they start.
type stallPubSub struct {
	hung     bool
	step     chan struct{}
	failSubs int // the first failSubs Subscribe calls fail

	mu        sync.Mutex
	calls     []string // "sub t", "unsub t", in the order they started
	published []string // events handed to Publish, in order
	blocked   int      // calls waiting now
	running   bool     // Run is running
}

func newStall(hung bool) *stallPubSub { return &stallPubSub{hung: hung, step: make(chan struct{})} }

func (p *stallPubSub) NodeName() string { return "stall" }

func (p *stallPubSub) call(ctx context.Context, rec *[]string, what string) error {
	p.mu.Lock()
	*rec = append(*rec, what)
	hung := p.hung
	if hung {
		p.blocked++
	}
	p.mu.Unlock()
	if !hung {
		return nil
	}
	defer func() {
		p.mu.Lock()
		p.blocked--
		p.mu.Unlock()
	}()
	select {
	case <-p.step:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *stallPubSub) Subscribe(ctx context.Context, topic string) error {
	if err := p.call(ctx, &p.calls, "sub "+topic); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failSubs > 0 {
		p.failSubs--
		return errors.New("broker unreachable")
	}
	return nil
}

func (p *stallPubSub) Unsubscribe(ctx context.Context, topic string) error {
	return p.call(ctx, &p.calls, "unsub "+topic)
}

func (p *stallPubSub) Publish(ctx context.Context, m *phx.Envelope) error {
	return p.call(ctx, &p.published, m.Event)
}

func (p *stallPubSub) Run(ctx context.Context, deliver func(*phx.Envelope)) error {
	p.mu.Lock()
	p.running = true
	p.mu.Unlock()
	<-ctx.Done()
	p.mu.Lock()
	p.running = false
	p.mu.Unlock()
	return ctx.Err()
}

func (p *stallPubSub) state() (calls, published []string, blocked int, running bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls), slices.Clone(p.published), p.blocked, p.running
}

func (p *stallPubSub) callLog() []string { calls, _, _, _ := p.state(); return calls }

func (p *stallPubSub) blockedNow() int { _, _, n, _ := p.state(); return n }

// sendAll feeds frames to c on another goroutine and fails the test if the
// session's reader is still inside Receive after waitTimeout.
func sendAll(t *testing.T, c *client, frames ...string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, f := range frames {
			if err := c.Sess.Receive([]byte(f), false); err != nil {
				t.Errorf("Receive(%s): %v", f, err)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatal("the session's reader is blocked")
	}
}

// TestPubSubHungBroker: with an adapter whose every call blocks forever,
// joins of new topics and a heartbeat behind them are answered, local
// broadcasts all reach their subscribers (the outbound queue overflows and
// counts what it dropped), and Shutdown still returns, stopping every
// goroutine (goleak in TestMain).
func TestPubSubHungBroker(t *testing.T) {
	ps := newStall(true)
	ep := phx.NewEndpoint(phx.Config{Logger: quietLogger(), PubSub: ps, PublishQueue: 16})
	ep.Handle("room:*", phx.HandlerFuncs{})
	c := open(t, ep)
	var frames, want []string
	for i := range 5 {
		frames = append(frames, fmt.Sprintf(`["%d","%d","room:%d","phx_join",{}]`, i, i, i))
		want = append(want, fmt.Sprintf(`["%d","%d","room:%d","phx_reply",%s]`, i, i, i, okEmpty))
	}
	frames = append(frames, `[null,"hb","phoenix","heartbeat",{}]`)
	want = append(want, `[null,"hb","phoenix","phx_reply",`+okEmpty+`]`)
	sendAll(t, c, frames...)
	c.expect(want...)
	// The five subscriptions were asked for and hang, unconfirmed.
	waitFor(t, "five Subscribe calls blocked", func() bool { return ps.blockedNow() == 5 })
	if st := ep.PubSubStats(); st.Pending != 5 {
		t.Errorf("Pending = %d, want 5", st.Pending)
	}

	var full int
	for i := range 250 {
		n, err := ep.Broadcast(context.Background(), "room:0", "local", map[string]int{"i": i})
		switch {
		case n != 1:
			t.Fatalf("broadcast %d reached %d local channels, want 1", i, n)
		case errors.Is(err, phx.ErrPublishQueueFull):
			full++
		case err != nil:
			t.Fatalf("broadcast %d: %v", i, err)
		}
	}
	for i := range 250 {
		c.expect(fmt.Sprintf(`[null,null,"room:0","local",{"i":%d}]`, i))
	}
	c.expectNothing()
	// One broadcast is in the adapter's hands, 16 wait, the rest were
	// dropped (the first may still have been queued when the others came).
	waitFor(t, "a Publish call blocked", func() bool { return ps.blockedNow() == 6 })
	st := ep.PubSubStats()
	if st.Dropped != uint64(full) || st.Queued+1+full != 250 {
		t.Errorf("stats = %+v with %d ErrPublishQueueFull, want 1 publishing, the rest queued or dropped", st, full)
	}

	c.Sess.Detach()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := ep.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want the deadline (the queue could not be flushed)", err)
	}
	_, published, blocked, running := ps.state()
	if blocked != 0 || running {
		t.Errorf("after Shutdown: %d calls still blocked, Run running %v", blocked, running)
	}
	if st := ep.PubSubStats(); st.Dropped != 250 || st.Published != 0 || st.Queued != 0 || len(published) != 1 {
		t.Errorf("after Shutdown: stats %+v, %d publishes started; want all 250 dropped", st, len(published))
	}
}

// TestPubSubSubscribeCoalesced: interest that flips while a Subscribe hangs
// is coalesced into the calls that change the outcome, in order.
func TestPubSubSubscribeCoalesced(t *testing.T) {
	ps := newStall(true)
	ep, _ := newEndpoint(t, phx.Config{PubSub: ps})
	c := open(t, ep)
	join := func(ref int) {
		t.Helper()
		r := strconv.Itoa(ref)
		sendAll(t, c, `["`+r+`","`+r+`","room:c","phx_join",{}]`)
		c.expect(`["` + r + `","` + r + `","room:c","phx_reply",` + okEmpty + `]`)
	}
	leave := func(ref int) {
		t.Helper()
		r := strconv.Itoa(ref)
		sendAll(t, c, `["`+r+`","`+r+`x","room:c","phx_leave",{}]`)
		c.expect(`["`+r+`","`+r+`x","room:c","phx_reply",`+okEmpty+`]`, `["`+r+`","`+r+`","room:c","phx_close",{}]`)
	}
	release := func() {
		t.Helper()
		select {
		case ps.step <- struct{}{}:
		case <-time.After(waitTimeout):
			t.Fatal("no adapter call to release")
		}
	}

	// Join, then leave and rejoin twice while the Subscribe hangs: once it
	// returns, the topic is wanted and subscribed: no further call.
	join(1)
	waitCalls(t, ps.callLog, "sub room:c")
	leave(1)
	join(2)
	leave(2)
	join(3)
	release()
	landed(t, ep)
	// Leave while the Unsubscribe hangs and rejoin: the Subscribe follows
	// the Unsubscribe.
	leave(3)
	waitCalls(t, ps.callLog, "sub room:c", "unsub room:c")
	join(4)
	if st := ep.PubSubStats(); st.Pending != 1 {
		t.Errorf("Pending = %d during the Unsubscribe, want 1", st.Pending)
	}
	release()
	waitCalls(t, ps.callLog, "sub room:c", "unsub room:c", "sub room:c")
	release()
	landed(t, ep)
	// Leave while subscribed, rejoin while the Unsubscribe hangs, leave
	// again: after it returns nothing is wanted, nothing more is called.
	leave(4)
	join(5)
	leave(5)
	release()
	waitFor(t, "no adapter call running", func() bool { return ps.blockedNow() == 0 })
	if calls, _, _, _ := ps.state(); !slices.Equal(calls, []string{"sub room:c", "unsub room:c", "sub room:c", "unsub room:c"}) {
		t.Errorf("calls = %q", calls)
	}
	if st := ep.PubSubStats(); st.Pending != 0 || st.SubscribeErrors != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// TestPubSubSubscribeRetry: a failed Subscribe is retried with backoff
// until it succeeds, and counted.
func TestPubSubSubscribeRetry(t *testing.T) {
	ps := newStall(false)
	ps.failSubs = 2
	ep, _ := newEndpoint(t, phx.Config{PubSub: ps})
	c := open(t, ep)
	c.send(`["1","1","room:r","phx_join",{}]`)
	c.expect(`["1","1","room:r","phx_reply",` + okEmpty + `]`)
	landed(t, ep)
	if calls, _, _, _ := ps.state(); !slices.Equal(calls, []string{"sub room:r", "sub room:r", "sub room:r"}) {
		t.Errorf("calls = %q, want three Subscribe calls", calls)
	}
	if st := ep.PubSubStats(); st.SubscribeErrors != 2 {
		t.Errorf("SubscribeErrors = %d, want 2", st.SubscribeErrors)
	}
}

// TestPubSubPublishOrder: broadcasts reach the adapter in the order they
// were made, however many there are at once.
func TestPubSubPublishOrder(t *testing.T) {
	ps := newStall(false)
	ep, _ := newEndpoint(t, phx.Config{PubSub: ps})
	var want []string
	for i := range 2000 {
		ev := strconv.Itoa(i)
		want = append(want, ev)
		if _, err := ep.Broadcast(context.Background(), "room:o", ev, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "all published", func() bool { return ep.PubSubStats().Published == 2000 })
	if _, got, _, _ := ps.state(); !slices.Equal(got, want) {
		t.Error("broadcasts reached the adapter out of order")
	}
	// An ended context queues nothing: the broadcast stays local.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ep.Broadcast(ctx, "room:o", "late", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Broadcast with an ended context = %v", err)
	}
}

// TestPubSubShutdownFlushes: Shutdown hands the broadcasts still queued to
// a slow adapter, in order, before it stops it.
func TestPubSubShutdownFlushes(t *testing.T) {
	ps := newStall(true)
	ep := phx.NewEndpoint(phx.Config{Logger: quietLogger(), PubSub: ps})
	var want []string
	for i := range 10 {
		want = append(want, strconv.Itoa(i))
		if _, err := ep.Broadcast(context.Background(), "room:f", want[i], nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the first Publish blocked", func() bool { return ps.blockedNow() == 1 })
	go func() {
		for range 10 {
			ps.step <- struct{}{}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := ep.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, got, _, _ := ps.state(); !slices.Equal(got, want) {
		t.Errorf("published %q, want %q", got, want)
	}
	if st := ep.PubSubStats(); st.Published != 10 || st.Dropped != 0 {
		t.Errorf("stats = %+v, want 10 published", st)
	}
	if _, err := ep.Broadcast(context.Background(), "room:f", "late", nil); !errors.Is(err, phx.ErrShutdown) {
		t.Errorf("Broadcast after Shutdown = %v, want ErrShutdown", err)
	}
}

// TestDisconnectIDQueued: DisconnectID goes to the adapter through the
// publish queue, like Broadcast: with a hung broker it returns at once
// (having closed the local connection), and Publish sees it after the
// broadcast made before it, from the one publishing goroutine.
func TestDisconnectIDQueued(t *testing.T) {
	ps := newStall(true)
	ep := phx.NewEndpoint(phx.Config{Logger: quietLogger(), PubSub: ps})
	s, err := ep.Open(phx.ConnectInfo{Transport: "test", ID: "user:1"}, phx.V2JSON(), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ep.Broadcast(context.Background(), "room:0", "before", nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		n, err := ep.DisconnectID(context.Background(), "user:1")
		if n != 1 || err != nil {
			t.Errorf("DisconnectID = %d, %v; want 1 local", n, err)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("DisconnectID waited on the hung adapter")
	}
	if s.Context().Err() == nil {
		t.Error("the local connection with the id was not closed")
	}
	// "before" is in the adapter's hands; "disconnect" waits behind it.
	// Release the hung calls (the id's Subscribe and Unsubscribe hang too)
	// until the second Publish starts.
	waitFor(t, "the second Publish", func() bool {
		select {
		case ps.step <- struct{}{}:
		default:
		}
		_, p, _, _ := ps.state()
		return len(p) == 2
	})
	if _, p, _, _ := ps.state(); !slices.Equal(p, []string{"before", phx.DisconnectEvent}) {
		t.Errorf("published %q, want before then disconnect", p)
	}
	s.Detach()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	ep.Shutdown(ctx) // the hung calls are cancelled
}

// TestSocketIDSubscription: the subscription of a socket id's topic is
// the broker's, as a channel topic's: a failed Subscribe is retried, and
// a topic that is both a session's id and a joined channel's topic stays
// subscribed until neither needs it.
func TestSocketIDSubscription(t *testing.T) {
	ps := newStall(false)
	ps.failSubs = 1
	ep, _ := newEndpoint(t, phx.Config{PubSub: ps})
	ep.Handle("user:*", phx.HandlerFuncs{})
	s, err := ep.Open(phx.ConnectInfo{Transport: "test", ID: "user:1"}, phx.V2JSON(), false)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "user:1 subscribed after a retry", func() bool { return ep.Subscribed("user:1") })
	if got := ps.callLog(); !slices.Equal(got, []string{"sub user:1", "sub user:1"}) {
		t.Errorf("calls %q, want a failed Subscribe then its retry", got)
	}
	c := open(t, ep)
	sendAll(t, c, `["1","1","user:1","phx_join",{}]`)
	c.expect(`["1","1","user:1","phx_reply",` + okEmpty + `]`)
	s.Detach() // the id is gone, the channel topic is still joined
	c.Sess.Receive([]byte(`[null,"hb","phoenix","heartbeat",{}]`), false)
	c.expect(`[null,"hb","phoenix","phx_reply",` + okEmpty + `]`)
	if got := ps.callLog(); len(got) != 2 || !ep.Subscribed("user:1") {
		t.Errorf("after the id's session left: calls %q, subscribed %v; want still subscribed", got, ep.Subscribed("user:1"))
	}
	c.Sess.Detach()
	waitFor(t, "user:1 unsubscribed", func() bool { return !ep.Subscribed("user:1") })
	if got := ps.callLog(); !slices.Equal(got, []string{"sub user:1", "sub user:1", "unsub user:1"}) {
		t.Errorf("calls %q, want one Unsubscribe at the end", got)
	}
}
