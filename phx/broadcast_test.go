package phx_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/seance-go/seance/phx"
)

// TestBroadcastFastlane: a broadcast is encoded once and the same bytes are
// queued on every v2 session; a v1 session gets its own encoding.
func TestBroadcastFastlane(t *testing.T) {
	ep, _ := newEndpoint(t, phx.Config{})
	const n = 20
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = open(t, ep)
		clients[i].send(`["1","1","room:fan","phx_join",{}]`)
		clients[i].next()
	}
	old := openWith(t, ep, phx.V1JSON(), false)
	old.send(`{"topic":"room:fan","event":"phx_join","payload":{},"ref":"1"}`)
	old.next()

	got, err := ep.Broadcast(context.Background(), "room:fan", "news", map[string]int{"n": 1})
	if err != nil || got != n+1 {
		t.Fatalf("Broadcast = %d, %v; want %d", got, err, n+1)
	}
	var first phx.Frame
	for i, c := range clients {
		f := c.nextFrame()
		if want := `[null,null,"room:fan","news",{"n":1}]`; string(f.Data) != want {
			t.Fatalf("client %d got %s, want %s", i, f.Data, want)
		}
		if i == 0 {
			first = f
			continue
		}
		if unsafe.SliceData(f.Data) != unsafe.SliceData(first.Data) {
			t.Errorf("client %d got its own copy of the frame: not encoded once", i)
		}
	}
	old.expect(`{"topic":"room:fan","event":"news","payload":{"n":1},"ref":null}`)
	for _, c := range clients {
		c.expectNothing()
	}
}

// TestBroadcastBinary: a binary broadcast is a kind 2 frame.
func TestBroadcastBinary(t *testing.T) {
	ep, _ := newEndpoint(t, phx.Config{})
	c := open(t, ep)
	c.send(`["1","1","room:1","phx_join",{}]`)
	c.next()
	if _, err := ep.Broadcast(context.Background(), "room:1", "blob", phx.Binary{0xde, 0xad}); err != nil {
		t.Fatal(err)
	}
	f := c.nextFrame()
	b, err := decodeBinaryOut(f.Data)
	if err != nil || !f.Binary {
		t.Fatalf("frame %x (binary %v): %v", f.Data, f.Binary, err)
	}
	if d := cmp.Diff(binFrame{Kind: 2, Topic: "room:1", Event: "blob", Payload: []byte{0xde, 0xad}}, b); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}

// upperSerializer is an application serializer: v2 frames with the event
// upper-cased on the way out. Its broadcast frames must not be shared with
// the built-in serializers'.
type upperSerializer struct{ phx.Serializer }

func (u upperSerializer) Version() string { return "1.0.0" }

func (u upperSerializer) Encode(m *phx.Outgoing) (phx.Frame, error) {
	c := *m
	c.Event = string(bytes.ToUpper([]byte(c.Event)))
	return u.Serializer.Encode(&c)
}

func TestBroadcastCustomSerializer(t *testing.T) {
	ep, _ := newEndpoint(t, phx.Config{})
	v1 := openWith(t, ep, phx.V1JSON(), false)
	custom := openWith(t, ep, upperSerializer{phx.V2JSON()}, false)
	v1.send(`{"topic":"room:1","event":"phx_join","payload":{},"ref":"1"}`)
	v1.next()
	custom.send(`["1","1","room:1","phx_join",{}]`)
	custom.next()
	if _, err := ep.Broadcast(context.Background(), "room:1", "ev", nil); err != nil {
		t.Fatal(err)
	}
	v1.expect(`{"topic":"room:1","event":"ev","payload":{},"ref":null}`)
	custom.expect(`[null,null,"room:1","EV",{}]`)
}

func TestOutHandlerIntercepts(t *testing.T) {
	ep, _ := newEndpoint(t, phx.Config{})
	a, b := open(t, ep), open(t, ep)
	a.send(`["1","1","out:1","phx_join",{}]`)
	a.next()
	b.send(`["7","7","out:1","phx_join",{}]`)
	b.next()
	if n, err := ep.Broadcast(context.Background(), "out:1", "news", map[string]int{"n": 1}); err != nil || n != 2 {
		t.Fatalf("Broadcast = %d, %v", n, err)
	}
	a.expect(`["1",null,"out:1","news!",{"intercepted":{"n":1},"for":"1"}]`)
	b.expect(`["7",null,"out:1","news!",{"intercepted":{"n":1},"for":"7"}]`)
	// the interceptor may drop a broadcast
	ep.Broadcast(context.Background(), "out:1", "secret", nil)
	// a broadcast from the channel itself goes through HandleOut too
	a.send(`["1","2","out:1","hello",{"h":1}]`)
	a.expect(`["1","2","out:1","phx_reply",`+okEmpty+`]`, `["1",null,"out:1","hello!",{"intercepted":{"h":1},"for":"1"}]`)
	b.expect(`["7",null,"out:1","hello!",{"intercepted":{"h":1},"for":"7"}]`)
	a.expectNothing()
	b.expectNothing()
}

func TestBroadcastFromExcludesSender(t *testing.T) {
	ep, _ := newEndpoint(t, phx.Config{})
	a, b := open(t, ep), open(t, ep)
	a.send(`["1","1","room:x","phx_join",{}]`)
	a.next()
	b.send(`["2","2","room:x","phx_join",{}]`)
	b.next()

	a.send(`["1","3","room:x","broadcast_from",{"m":"from a"}]`)
	b.expect(`[null,null,"room:x","shout",{"m":"from a"}]`)
	a.expect(`["1","3","room:x","phx_reply",` + okEmpty + `]`)
	a.expectNothing()

	a.send(`["1","4","room:x","broadcast",{"m":"to all"}]`)
	a.expect(`[null,null,"room:x","shout",{"m":"to all"}]`, `["1","4","room:x","phx_reply",`+okEmpty+`]`)
	b.expect(`[null,null,"room:x","shout",{"m":"to all"}]`)
	b.expectNothing()
}

func TestSubscribeOtherTopic(t *testing.T) {
	ep, _ := newEndpoint(t, phx.Config{})
	c := open(t, ep)
	c.send(`["1","1","room:1","phx_join",{}]`)
	c.next()
	c.send(`["1","2","room:1","subscribe",{"topic":"news"}]`)
	c.expect(`["1","2","room:1","phx_reply",` + okEmpty + `]`)
	if n, err := ep.Broadcast(context.Background(), "news", "headline", map[string]string{"h": "x"}); err != nil || n != 1 {
		t.Fatalf("Broadcast = %d, %v", n, err)
	}
	c.expect(`["1",null,"room:1","sub",{"topic":"news","event":"headline","payload":{"h":"x"}}]`)

	c.send(`["1","3","room:1","unsubscribe",{"topic":"news"}]`)
	c.expect(`["1","3","room:1","phx_reply",` + okEmpty + `]`)
	if n, _ := ep.Broadcast(context.Background(), "news", "headline", nil); n != 0 {
		t.Errorf("Broadcast after Unsubscribe reached %d channels", n)
	}

	// subscriptions end with the channel
	c.send(`["1","4","room:1","subscribe",{"topic":"news"}]`)
	c.expect(`["1","4","room:1","phx_reply",` + okEmpty + `]`)
	c.send(`["1","5","room:1","phx_leave",{}]`)
	c.expect(`["1","5","room:1","phx_reply",`+okEmpty+`]`, `["1","1","room:1","phx_close",{}]`)
	if n, _ := ep.Broadcast(context.Background(), "news", "headline", nil); n != 0 {
		t.Errorf("Broadcast after leave reached %d channels", n)
	}
	if n, _ := ep.Broadcast(context.Background(), "room:1", "x", nil); n != 0 {
		t.Errorf("Broadcast on the left topic reached %d channels", n)
	}
	c.expectNothing()
}

// fakeBus connects the fake PubSub adapters of several endpoints in memory.
// It delivers an envelope only to nodes that declared interest in its
// topic, so the interest calls are exercised end to end; with echo set it
// also delivers to the publisher (which must ignore its own messages).
type fakeBus struct {
	mu    sync.Mutex
	nodes []*fakePubSub
	echo  bool
}

type fakePubSub struct {
	bus     *fakeBus
	name    string
	ready   chan struct{}
	stopped chan struct{}

	mu      sync.Mutex
	topics  map[string]bool
	calls   []string
	deliver func(*phx.Envelope)
}

func (b *fakeBus) node(name string) *fakePubSub {
	n := &fakePubSub{bus: b, name: name, ready: make(chan struct{}), stopped: make(chan struct{}), topics: map[string]bool{}}
	b.mu.Lock()
	b.nodes = append(b.nodes, n)
	b.mu.Unlock()
	return n
}

func (n *fakePubSub) NodeName() string { return n.name }

func (n *fakePubSub) Subscribe(ctx context.Context, topic string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.topics[topic] = true
	n.calls = append(n.calls, "sub "+topic)
	return nil
}

func (n *fakePubSub) Unsubscribe(ctx context.Context, topic string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.topics, topic)
	n.calls = append(n.calls, "unsub "+topic)
	return nil
}

func (n *fakePubSub) Publish(ctx context.Context, m *phx.Envelope) error {
	n.bus.mu.Lock()
	nodes := append([]*fakePubSub(nil), n.bus.nodes...)
	n.bus.mu.Unlock()
	for _, o := range nodes {
		if o == n && !n.bus.echo {
			continue
		}
		o.mu.Lock()
		deliver, ok := o.deliver, o.topics[m.Topic]
		o.mu.Unlock()
		if ok && deliver != nil {
			c := *m
			c.Payload = bytes.Clone(m.Payload)
			deliver(&c)
		}
	}
	return nil
}

func (n *fakePubSub) Run(ctx context.Context, deliver func(*phx.Envelope)) error {
	n.mu.Lock()
	n.deliver = deliver
	n.mu.Unlock()
	close(n.ready)
	<-ctx.Done()
	n.mu.Lock()
	n.deliver = nil
	n.mu.Unlock()
	close(n.stopped)
	return ctx.Err()
}

func (n *fakePubSub) callLog() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.calls...)
}

func TestPubSubSeam(t *testing.T) {
	bus := &fakeBus{echo: true}
	psA, psB := bus.node("a"), bus.node("b")
	epA, _ := newEndpoint(t, phx.Config{PubSub: psA})
	epB, _ := newEndpoint(t, phx.Config{PubSub: psB})
	for _, ps := range []*fakePubSub{psA, psB} {
		select {
		case <-ps.ready:
		case <-time.After(waitTimeout):
			t.Fatal("the endpoint did not start its PubSub receive loop")
		}
	}
	if epA.NodeName() != "a" || epB.NodeName() != "b" {
		t.Errorf("NodeName = %q, %q", epA.NodeName(), epB.NodeName())
	}
	a := open(t, epA)
	b1, b2 := open(t, epB), open(t, epB)
	a.send(`["1","1","room:1","phx_join",{}]`)
	a.next()
	b1.send(`["1","1","room:1","phx_join",{}]`)
	b1.next()
	b2.send(`["5","5","room:1","phx_join",{}]`)
	b2.next()
	// Interest reaches the adapter asynchronously, once per topic.
	landed(t, epA, epB)
	if d := cmp.Diff([]string{"sub room:1"}, psB.callLog()); d != "" {
		t.Errorf("interest calls on b after two joins (-want +got)\n%s", d)
	}

	if n, err := epA.Broadcast(context.Background(), "room:1", "ev", map[string]int{"x": 1}); err != nil || n != 1 {
		t.Fatalf("Broadcast = %d (local), %v", n, err)
	}
	want := `[null,null,"room:1","ev",{"x":1}]`
	a.expect(want) // once: its own echo from the bus is ignored
	b1.expect(want)
	b2.expect(want)

	// a broadcast from a channel on b reaches a too
	b1.send(`["1","2","room:1","broadcast",{"from":"b1"}]`)
	b1.expect(`[null,null,"room:1","shout",{"from":"b1"}]`, `["1","2","room:1","phx_reply",`+okEmpty+`]`)
	b2.expect(`[null,null,"room:1","shout",{"from":"b1"}]`)
	a.expect(`[null,null,"room:1","shout",{"from":"b1"}]`)

	// binary payloads cross nodes
	epA.Broadcast(context.Background(), "room:1", "bin", phx.Binary{1, 2})
	for _, c := range []*client{a, b1, b2} {
		c.expect(`{"bin":2,"join_ref":"","ref":"","topic":"room:1","event":"bin","hex":"0102"}`)
	}

	// extra subscriptions declare interest as well
	b1.send(`["1","3","room:1","subscribe",{"topic":"news"}]`)
	b1.expect(`["1","3","room:1","phx_reply",` + okEmpty + `]`)
	landed(t, epB)
	epA.Broadcast(context.Background(), "news", "headline", nil)
	b1.expect(`["1",null,"room:1","sub",{"topic":"news","event":"headline","payload":{}}]`)

	// the last local subscriber leaving withdraws the interest, once
	b1.send(`["1","4","room:1","phx_leave",{}]`)
	b1.expect(`["1","4","room:1","phx_reply",`+okEmpty+`]`, `["1","1","room:1","phx_close",{}]`)
	waitCalls(t, psB.callLog, "sub room:1", "sub news", "unsub news")
	b2.send(`["5","6","room:1","phx_leave",{}]`)
	b2.expect(`["5","6","room:1","phx_reply",`+okEmpty+`]`, `["5","5","room:1","phx_close",{}]`)
	waitCalls(t, psB.callLog, "sub room:1", "sub news", "unsub news", "unsub room:1")
	epA.Broadcast(context.Background(), "room:1", "after", nil)
	a.expect(`[null,null,"room:1","after",{}]`)
	for _, c := range []*client{a, b1, b2} {
		c.expectNothing()
	}
	if d := cmp.Diff([]string{"sub room:1"}, psA.callLog()); d != "" {
		t.Errorf("interest calls on a (-want +got)\n%s", d)
	}
	// Received counts what came from other nodes, never a node's own echo.
	if ra, rb := epA.PubSubStats().Received, epB.PubSubStats().Received; ra != 1 || rb != 3 {
		t.Errorf("Received a=%d b=%d, want 1 (shout) and 3 (ev, bin, headline)", ra, rb)
	}
}

// landed waits until every topic with local subscribers on the endpoints
// has its subscription confirmed by the adapter.
func landed(t *testing.T, eps ...*phx.Endpoint) {
	t.Helper()
	waitFor(t, "subscriptions confirmed", func() bool {
		for _, ep := range eps {
			if ep.PubSubStats().Pending != 0 {
				return false
			}
		}
		return true
	})
}

// waitCalls waits until the adapter's interest calls are exactly want.
func waitCalls(t *testing.T, callLog func() []string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !slices.Equal(callLog(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("interest calls (-want +got)\n%s", cmp.Diff(want, callLog()))
		}
		time.Sleep(time.Millisecond)
	}
}

// waitFor polls cond until it holds, failing after waitTimeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestJoinSubscribesBeforeReply: the channel is subscribed before its join
// reply is queued (a client that saw the reply gets every later broadcast),
// and a broadcast landing in between is sent right after the reply.
func TestJoinSubscribesBeforeReply(t *testing.T) {
	ep, _ := newEndpoint(t, phx.Config{})
	var c *client
	pendingAtSubscribe := -1
	phx.SetOnFirst(ep, func(topic string) {
		pendingAtSubscribe = c.Sess.Pending()
		if _, err := ep.Broadcast(context.Background(), topic, "early", map[string]int{"n": 1}); err != nil {
			t.Error(err)
		}
	})
	c = open(t, ep)
	c.send(`["1","1","room:after","phx_join",{}]`)
	if pendingAtSubscribe != 0 {
		t.Errorf("%d frames were queued when the channel subscribed, want 0 (reply after subscribe)", pendingAtSubscribe)
	}
	c.expect(
		`["1","1","room:after","phx_reply",`+okEmpty+`]`,
		`[null,null,"room:after","early",{"n":1}]`,
		`["1",null,"room:after","after_join",{"n":1}]`,
		`["1",null,"room:after","after_join",{"n":2}]`,
	)
	c.expectNothing()
}

// TestAfterJoinRunsFirst: AfterJoin runs before intercepted broadcasts
// that arrived before the join reply.
func TestAfterJoinRunsFirst(t *testing.T) {
	ep, _ := newEndpoint(t, phx.Config{})
	phx.SetOnFirst(ep, func(topic string) { ep.Broadcast(context.Background(), topic, "early", nil) })
	ep.Handle("after:*", afterOut{})
	c := open(t, ep)
	c.send(`["1","1","after:1","phx_join",{}]`)
	c.expect(
		`["1","1","after:1","phx_reply",`+okEmpty+`]`,
		`["1",null,"after:1","after_join",{}]`,
		`["1",null,"after:1","early!",{}]`,
	)
	c.expectNothing()
}

type afterOut struct{}

func (afterOut) Join(ctx context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
	return nil, nil
}

func (afterOut) AfterJoin(ctx context.Context, ch *phx.Channel) error {
	return ch.Push("after_join", nil)
}

func (afterOut) HandleOut(ctx context.Context, ch *phx.Channel, b *phx.Broadcast) error {
	return ch.Push(b.Event+"!", nil)
}

// TestShutdownTimeoutStopsPubSub: even when Shutdown gives up waiting for a
// session, the receive loop from other nodes ends.
func TestShutdownTimeoutStopsPubSub(t *testing.T) {
	ps := (&fakeBus{}).node("a")
	ep := phx.NewEndpoint(phx.Config{Logger: quietLogger(), PubSub: ps})
	<-ps.ready
	sess, err := ep.Open(phx.ConnectInfo{}, phx.V2JSON(), true) // never detached in time
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Detach()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := ep.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the deadline", err)
	}
	select {
	case <-ps.stopped:
	case <-time.After(waitTimeout):
		t.Fatal("the PubSub receive loop still runs after Shutdown returned")
	}
}

// TestPushPrepared: a prepared message pushed to chosen channels is encoded
// once for all of them and sent as a broadcast-shaped frame; closed
// channels refuse it, and binary is refused where the transport has none.
func TestPushPrepared(t *testing.T) {
	ep, _ := newEndpoint(t, phx.Config{})
	var chans []*phx.Channel
	var mu sync.Mutex
	ep.Handle("shared:*", phx.HandlerFuncs{JoinFunc: func(ctx context.Context, ch *phx.Channel, _ phx.Payload) (any, error) {
		mu.Lock()
		chans = append(chans, ch)
		mu.Unlock()
		return nil, nil
	}})
	a, b := open(t, ep), open(t, ep)
	lp := openWith(t, ep, phx.V2JSON(), false)
	for _, c := range []*client{a, b, lp} {
		c.send(`["1","1","shared:x","phx_join",{}]`)
		c.expect(`["1","1","shared:x","phx_reply",{"status":"ok","response":{}}]`)
	}
	p, err := phx.Prepare("shared:x", "state:patch", map[string]int{"version": 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range chans {
		if err := ch.PushPrepared(p); err != nil {
			t.Fatal(err)
		}
	}
	fa, fb := a.nextFrame(), b.nextFrame()
	if unsafe.SliceData(fa.Data) != unsafe.SliceData(fb.Data) {
		t.Error("the prepared frame was encoded per channel, not once")
	}
	want := `[null,null,"shared:x","state:patch",{"version":1}]`
	for _, f := range []phx.Frame{fa, fb, lp.nextFrame()} {
		if string(f.Data) != want {
			t.Errorf("frame %s, want %s", f.Data, want)
		}
	}
	bin, _ := phx.Prepare("shared:x", "blob", phx.Binary{1})
	if err := chans[2].PushPrepared(bin); !errors.Is(err, phx.ErrBinaryUnsupported) {
		t.Errorf("binary over a text-only session: %v, want ErrBinaryUnsupported", err)
	}
	if err := chans[0].Close(); err != nil {
		t.Fatal(err)
	}
	a.expect(`["1","1","shared:x","phx_close",{}]`)
	if err := chans[0].PushPrepared(p); !errors.Is(err, phx.ErrChannelClosed) {
		t.Errorf("push to a closed channel: %v, want ErrChannelClosed", err)
	}
}
