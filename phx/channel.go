package phx

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Channel is one joined topic of one connection. Its callbacks run one at a
// time in arrival order; its methods are safe for concurrent use.
type Channel struct {
	sess    *Session
	topic   string
	param   string // the part of topic matched by the route's "*"
	pattern string // the route pattern the topic matched
	joinRef Ref
	handler Handler
	in      InHandler
	inv     valueInHandler // in, when it takes events by value
	info    InfoHandler
	out     OutHandler
	term    Terminator

	mu      sync.Mutex
	queue   []work
	started bool // the join reply was queued: callbacks may run
	running bool // a drain goroutine is active
	closing bool // termination requested: no new work accepted
	// dead: terminated or crashed, nothing more is sent. Set with mu
	// held; PushEncoded and Reply read it without.
	dead  atomic.Bool
	extra map[string]struct{}
	early []Frame // broadcasts received between subscription and start
	// replying is set once a join reply that waited for the subscription
	// of the topic (Config.JoinAwaitsSubscription) is about to be sent:
	// start follows it, so a termination requested meanwhile leaves the
	// start to it and runs after the reply.
	replying bool
	// ending is closed when termination is requested, for a join reply
	// that waits (awaitEnd).
	ending chan struct{}

	values []keyValue // touched only from callbacks (one at a time)

	ended bool              // the end hooks ran (or are running)
	onEnd []func(err error) // OnEnd hooks, guarded by mu
}

func newChannel(s *Session, topic string, joinRef Ref, h Handler) *Channel {
	c := &Channel{sess: s, topic: topic, joinRef: joinRef, handler: h}
	c.in, _ = h.(InHandler)
	c.inv, _ = h.(valueInHandler)
	c.info, _ = h.(InfoHandler)
	c.out, _ = h.(OutHandler)
	c.term, _ = h.(Terminator)
	return c
}

// Topic is the channel's topic.
func (c *Channel) Topic() string { return c.topic }

// TopicParam is the part of the topic matched by the "*" of its route:
// "42" for topic "room:42" routed by "room:*"; "" for exact routes.
func (c *Channel) TopicParam() string { return c.param }

// Pattern is the route pattern the topic matched ("room:*" for topic
// "room:42"; the topic itself for exact routes). Unlike the topic, its
// cardinality is bounded by the routes: use it to label metrics.
func (c *Channel) Pattern() string { return c.pattern }

// JoinRef is the join_ref of the join that created this channel.
func (c *Channel) JoinRef() string { return c.joinRef.val }

// ConnectInfo describes the connection the channel belongs to.
func (c *Channel) ConnectInfo() *ConnectInfo { return &c.sess.info }

// Identity is the value the connect hook attached to the connection.
func (c *Channel) Identity() any { return c.sess.info.Identity }

// Logger returns the connection's logger ([Session.Logger]: conn,
// transport, remote) with the channel's topic and join_ref: log through it
// from callbacks so that the lines of a channel carry the same attributes.
func (c *Channel) Logger() *slog.Logger {
	return c.sess.Logger().With(slog.String("topic", c.topic), slog.String("join_ref", c.joinRef.val))
}

// Endpoint is the endpoint serving this channel.
func (c *Channel) Endpoint() *Endpoint { return c.sess.ep }

// keyValue is one value stored with Set. A channel holds a few (a
// LiveState channel one), for the life of an idle connection: a slice
// costs a fraction of a map.
type keyValue struct{ key, value any }

// Set stores a per-channel value. Call it only from the channel's callbacks.
// Keys must be comparable, as map keys; Set is meant for a few values.
func (c *Channel) Set(key, value any) {
	for i := range c.values {
		if c.values[i].key == key {
			c.values[i].value = value
			return
		}
	}
	c.values = append(c.values, keyValue{key, value})
}

// Value returns a value stored with Set. Call it only from the channel's
// callbacks.
func (c *Channel) Value(key any) any {
	for i := range c.values {
		if c.values[i].key == key {
			return c.values[i].value
		}
	}
	return nil
}

// Push sends an event to this channel's client, stamped with the channel's
// join_ref. The payload is JSON-encoded ({} for nil); a [Binary] payload is
// sent as a binary frame.
func (c *Channel) Push(event string, payload any) error {
	c.mu.Lock()
	started, dead := c.started, c.dead.Load()
	c.mu.Unlock()
	if dead {
		return ErrChannelClosed
	}
	if !started {
		return ErrNotJoined
	}
	return c.pushNow(event, payload)
}

func (c *Channel) pushNow(event string, payload any) error {
	out := Outgoing{Kind: KindPush, JoinRef: c.joinRef, Topic: c.topic, Event: event}
	if err := setPayload(&out, payload); err != nil {
		return err
	}
	return c.sess.send(&out)
}

// PushEncoded sends an already JSON-encoded payload (it is not validated).
// The payload is not kept once PushEncoded returns: the caller may reuse
// its memory.
func (c *Channel) PushEncoded(event string, payload []byte) error {
	if c.dead.Load() {
		return ErrChannelClosed
	}
	switch c.sess.ser.(type) {
	case v2, v1: // they copy the payload into the frame
	default:
		payload = bytes.Clone(payload) // another Serializer could keep it
	}
	return c.sess.send(&Outgoing{Kind: KindPush, JoinRef: c.joinRef, Topic: c.topic, Event: event, Payload: payload})
}

// Reply answers the client message with the given ref; use it to reply
// after HandleIn has returned.
func (c *Channel) Reply(ref Ref, r *Reply) error {
	if c.dead.Load() {
		return ErrChannelClosed
	}
	return c.sess.reply(c.joinRef, ref, c.topic, r)
}

// Broadcast publishes an event to every subscriber of the channel's topic,
// this channel's client included, as [Endpoint.Broadcast] does: it never
// waits for other nodes, and once the connection has ended it reaches this
// node's subscribers only.
func (c *Channel) Broadcast(event string, payload any) error {
	_, err := c.sess.ep.publish(c.sess.ctx, c.topic, event, payload, nil)
	return err
}

// BroadcastFrom publishes like Broadcast but skips this channel's client.
func (c *Channel) BroadcastFrom(event string, payload any) error {
	_, err := c.sess.ep.publish(c.sess.ctx, c.topic, event, payload, c)
	return err
}

// Send delivers msg to the channel's [InfoHandler] on the channel's
// goroutine, after the work already queued. It fails once the channel ended.
func (c *Channel) Send(msg any) error {
	if c.info == nil {
		return fmt.Errorf("phx: channel %q has no InfoHandler", c.topic)
	}
	if !c.enqueue(func(ctx context.Context) { c.callInfo(ctx, msg) }) {
		return ErrChannelClosed
	}
	return nil
}

// Subscribe delivers broadcasts on another topic to the channel's
// [InfoHandler] as *Broadcast. Subscriptions end with the channel.
func (c *Channel) Subscribe(topic string) error {
	if c.info == nil {
		return fmt.Errorf("phx: channel %q has no InfoHandler", c.topic)
	}
	c.mu.Lock()
	if c.closing || c.dead.Load() {
		c.mu.Unlock()
		return ErrChannelClosed
	}
	if c.extra == nil {
		c.extra = map[string]struct{}{}
	}
	c.extra[topic] = struct{}{}
	c.mu.Unlock()
	c.subscribe(topic, false)
	return nil
}

// subscribe adds the channel to topic's subscribers. A termination that
// raced with it (and may have run unsubscribeAll before this subscription
// existed) is caught by the check after it: terminate sets closing before
// unsubscribing.
func (c *Channel) subscribe(topic string, own bool) {
	hub := &c.sess.ep.hub
	hub.subscribe(topic, c, own)
	c.mu.Lock()
	ended := c.closing || c.dead.Load()
	c.mu.Unlock()
	if ended {
		hub.unsubscribe(topic, c)
	}
}

// Unsubscribe ends a subscription made with Subscribe.
func (c *Channel) Unsubscribe(topic string) {
	c.mu.Lock()
	delete(c.extra, topic)
	c.mu.Unlock()
	c.sess.ep.hub.unsubscribe(topic, c)
}

// Close ends the channel from the server: the client receives phx_close and
// does not rejoin. The Terminator runs with [ErrServerClose].
func (c *Channel) Close() error {
	if !c.sess.detach(c) {
		return ErrChannelClosed
	}
	c.terminate(ErrServerClose, true)
	return nil
}

func (c *Channel) callInfo(ctx context.Context, msg any) {
	if err := c.info.HandleInfo(ctx, c, msg); err != nil {
		c.Logger().Warn("phx: channel message handler failed", "error", err)
	}
}

// PushPrepared sends a prepared message to this channel's client. Its frame
// is encoded once per protocol version for every channel it is pushed to.
// A binary message is refused over transports that cannot carry it.
func (c *Channel) PushPrepared(p *Prepared) error {
	c.mu.Lock()
	dead, started := c.dead.Load() || c.closing, c.started
	c.mu.Unlock()
	if dead {
		return ErrChannelClosed
	}
	if !started {
		return ErrNotJoined
	}
	return c.pushFrame(&p.b, true)
}

// pushFrame queues the shared frame of b for this channel's client; before
// the join reply it is held and sent right after it. many tells the
// transport that the caller delivers b to many channels and should be held
// up as little as possible (see [Session.SetNotify]); a part of a split
// publish passes false: its goroutine is there to write.
func (c *Channel) pushFrame(b *broadcast, many bool) error {
	f, err := b.frame(c.sess.ser)
	if err != nil {
		c.Logger().Warn("phx: broadcast not encodable for this client", "event", b.Event, "error", err)
		return err
	}
	if f.Binary && !c.sess.binaryOK {
		return ErrBinaryUnsupported
	}
	c.mu.Lock()
	if c.closing || c.dead.Load() {
		c.mu.Unlock()
		return ErrChannelClosed
	}
	if !c.started {
		// subscribed, join reply not queued yet: send it after the reply
		c.early = append(c.early, f)
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	return c.sess.enqueue(f, many)
}

// deliver hands a published message to this channel; many as for
// pushFrame.
func (c *Channel) deliver(b *broadcast, own, many bool) {
	switch {
	case own && c.out != nil:
		c.enqueue(func(ctx context.Context) {
			if err := c.out.HandleOut(ctx, c, &b.Broadcast); err != nil {
				c.Logger().Warn("phx: broadcast handler failed", "event", b.Event, "error", err)
			}
		})
	case own:
		c.pushFrame(b, many)
	case c.info != nil:
		c.enqueue(func(ctx context.Context) { c.callInfo(ctx, &b.Broadcast) })
	}
}

// enqueue adds work for the channel's goroutine. It reports false when the
// channel no longer accepts work.
func (c *Channel) enqueue(job func(ctx context.Context)) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || c.dead.Load() {
		return false
	}
	c.queue = append(c.queue, work{job: job})
	c.kickLocked()
	return true
}

// work is one item of a channel's queue: a client event for HandleIn
// (msg, held by value: no allocation of its own), which needs no closure,
// or any other job.
type work struct {
	job func(ctx context.Context) // nil for a client event
	msg Message
}

// enqueueIn queues the client event m for HandleIn. With w non-nil and
// the channel idle, it is left in *w for the caller to run (see
// [Session.ReceiveInline]) instead: the channel is marked running for the
// caller rather than handed to a worker.
func (c *Channel) enqueueIn(m *Message, w *Inline) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || c.dead.Load() {
		return
	}
	if w != nil && c.started && !c.running && len(c.queue) == 0 {
		c.running = true
		c.sess.ep.hold()
		w.c, w.msg = c, *m
		return
	}
	c.queue = append(c.queue, work{msg: *m})
	c.kickLocked()
}

// requeue puts the event an Inline held at the head of the queue, for the
// workers: the channel is already marked running.
func (c *Channel) requeue(m Message) {
	c.mu.Lock()
	c.queue = append([]work{{msg: m}}, c.queue...)
	c.mu.Unlock()
	c.sess.ep.workers.run(c)
}

// runIn runs HandleIn for m, turning a panic into a channel crash.
func (c *Channel) runIn(m *Message) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			c.crash(p, debug.Stack())
			ok = false
		}
	}()
	c.handleIn(c.sess.ctx, m)
	return true
}

func (c *Channel) kickLocked() {
	if c.started && !c.running && len(c.queue) > 0 {
		c.running = true
		ep := c.sess.ep
		ep.hold()
		ep.workers.run(c)
	}
}

// enqueueFirst puts job before any work queued so far (used for
// AfterJoin, before start).
func (c *Channel) enqueueFirst(job func(ctx context.Context)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || c.dead.Load() {
		return
	}
	c.queue = append([]work{{job: job}}, c.queue...)
	c.kickLocked()
}

// start lets callbacks run once the join reply has been queued, after
// sending the broadcasts that arrived in between, in order.
func (c *Channel) start() {
	c.mu.Lock()
	for len(c.early) > 0 {
		early := c.early
		c.early = nil
		c.mu.Unlock()
		for _, f := range early {
			c.sess.enqueue(f, true)
		}
		c.mu.Lock()
	}
	c.started = true
	c.kickLocked()
	c.mu.Unlock()
}

// drain runs the channel's queued work until the queue is empty, on a
// worker of the endpoint's pool or inline (Inline.Run).
func (c *Channel) drain() {
	defer c.sess.ep.release()
	for {
		c.mu.Lock()
		if len(c.queue) == 0 || c.dead.Load() {
			c.running = false
			c.queue = nil
			c.mu.Unlock()
			return
		}
		w := c.queue[0]
		c.queue[0] = work{}
		c.queue = c.queue[1:]
		c.mu.Unlock()
		if !c.run(w) {
			return
		}
	}
}

// run executes one job, turning a panic into a channel crash.
func (c *Channel) run(w work) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			c.crash(p, debug.Stack())
			ok = false
		}
	}()
	if w.job == nil {
		c.handleIn(c.sess.ctx, &w.msg)
	} else {
		w.job(c.sess.ctx)
	}
	return true
}

func (c *Channel) crash(p any, stack []byte) {
	c.Logger().Error("phx: channel crashed", "panic", fmt.Sprint(p), "stack", string(stack))
	c.mu.Lock()
	c.dead.Store(true)
	c.running = false
	c.queue = nil
	c.mu.Unlock()
	c.sess.detach(c)
	c.unsubscribeAll() // after dead is set: see subscribe
	c.sess.send(&Outgoing{Kind: KindPush, JoinRef: c.joinRef, Ref: c.joinRef, Topic: c.topic, Event: "phx_error",
		Payload: []byte(`{"reason":"channel_crash"}`)})
	c.callTerminate(ErrCrashed)
}

func (c *Channel) unsubscribeAll() {
	c.mu.Lock()
	extra := c.extra
	c.extra = nil
	c.mu.Unlock()
	hub := &c.sess.ep.hub
	hub.unsubscribe(c.topic, c)
	for t := range extra {
		hub.unsubscribe(t, c)
	}
}

// terminate ends the channel after the work already queued: optionally a
// phx_close to the client, then the Terminator.
func (c *Channel) terminate(reason error, sendClose bool) {
	c.terminateThen(reason, func() {
		if sendClose {
			c.sendClose()
		}
	})
	c.unsubscribeAll() // after closing is set: see subscribe
}

func (c *Channel) terminateThen(reason error, before func()) {
	c.mu.Lock()
	if c.closing || c.dead.Load() {
		c.mu.Unlock()
		return
	}
	c.closing = true
	if c.ending != nil {
		close(c.ending)
	}
	c.queue = append(c.queue, work{job: func(ctx context.Context) {
		before()
		c.mu.Lock()
		c.dead.Store(true)
		c.mu.Unlock()
		c.callTerminate(reason)
	}})
	if !c.started && !c.replying {
		// Never joined (the connection ended during Join, or the join
		// reply waits for the subscription of the topic): run the hook
		// now. A join reply being sent starts the channel after it.
		c.started = true
	}
	c.kickLocked()
	c.mu.Unlock()
}

// awaitEnd returns a channel closed when the channel's termination is
// requested (left, replaced by another join, its session closed): a join
// reply that waits stops waiting then.
func (c *Channel) awaitEnd() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ending == nil {
		c.ending = make(chan struct{})
		if c.closing || c.dead.Load() {
			close(c.ending)
		}
	}
	return c.ending
}

// claimJoinReply reports whether the reply to the channel's join, which
// waited, may still be sent: false when the channel is ending (left,
// replaced by another join, or its session closed). After true the caller
// sends the reply, then starts the channel, whatever happens meanwhile.
func (c *Channel) claimJoinReply() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || c.dead.Load() {
		return false
	}
	c.replying = true
	return true
}

func (c *Channel) sendClose() {
	c.sess.send(&Outgoing{Kind: KindPush, JoinRef: c.joinRef, Ref: c.joinRef, Topic: c.topic, Event: "phx_close", Payload: []byte("{}")})
}

// OnEnd registers f to run once when the channel ends, whatever the reason
// (the reasons a [Terminator] receives; [ErrJoinRefused] when its join was
// refused), right after its Terminator. f must not block for long. OnEnd
// reports false, without registering f, when the channel has already
// ended. Packages that keep per-channel state outside the channel (presence
// tracking) use it to clean up without the handler's help.
func (c *Channel) OnEnd(f func(reason error)) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return false
	}
	c.onEnd = append(c.onEnd, f)
	return true
}

// runEnd runs the OnEnd hooks once.
func (c *Channel) runEnd(reason error) {
	c.mu.Lock()
	hooks := c.onEnd
	c.onEnd, c.ended = nil, true
	c.mu.Unlock()
	if o := c.sess.ep.obs; o != nil && o.ChannelEnded != nil && reason != ErrJoinRefused {
		o.ChannelEnded(c.pattern, c.sess.info.Transport, EndReason(reason))
	}
	for _, f := range hooks {
		func() {
			defer func() {
				if p := recover(); p != nil {
					c.Logger().Error("phx: channel end hook panicked", "panic", fmt.Sprint(p))
				}
			}()
			f(reason)
		}()
	}
}

func (c *Channel) callTerminate(reason error) {
	defer c.runEnd(reason)
	if c.term == nil {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			c.Logger().Error("phx: channel terminate hook panicked", "panic", fmt.Sprint(p))
		}
	}()
	c.term.Terminate(context.WithoutCancel(c.sess.ctx), c, reason)
}

// setPayload fills the payload of out from a Go value.
func setPayload(out *Outgoing, payload any) error {
	if b, ok := payload.(Binary); ok {
		out.Payload, out.Binary = b, true
		return nil
	}
	data, err := encodeJSONPayload(payload)
	if err != nil {
		return fmt.Errorf("phx: encoding payload of %q: %w", out.Event, err)
	}
	out.Payload = data
	return nil
}
