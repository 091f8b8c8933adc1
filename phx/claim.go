package phx

import "sync"

// claim is a topic taken over with [Endpoint.Claim].
type claim struct {
	fn func(*Broadcast)
}

// claimOf returns the function that takes the broadcasts of topic, or nil.
func (h *hub) claimOf(topic string) func(*Broadcast) {
	if c, ok := h.claims.Load(topic); ok {
		return c.(*claim).fn
	}
	return nil
}

// Claim makes fn take every broadcast on topic once — from this node
// ([Endpoint.Broadcast], channel broadcasts, [Endpoint.BroadcastLocal]) and
// from other nodes through the PubSub adapter — instead of the channels
// whose own topic it is: those receive nothing of it (neither frames nor
// [OutHandler] calls). Channels that subscribed topic with
// [Channel.Subscribe] still get it in HandleInfo. It is the seam for state
// shared by all channels of a topic (livestate.NewShared), which must see
// each broadcast once however many clients are joined.
//
// fn runs on the broadcasting goroutine or the PubSub receive loop, in the
// order the broadcasts arrive from each source, and must not block: queue
// the work. Claim does not subscribe topic through the adapter; the topic's
// channels do. One claim per topic: a second Claim replaces the first.
// release ends this claim (later calls, or calls after a replacement, do
// nothing).
func (e *Endpoint) Claim(topic string, fn func(*Broadcast)) (release func()) {
	c := &claim{fn: fn}
	e.hub.claims.Store(topic, c)
	var once sync.Once
	return func() {
		once.Do(func() { e.hub.claims.CompareAndDelete(topic, c) })
	}
}

// Subscribed reports whether this node receives the broadcasts other nodes
// make on topic: the PubSub adapter confirmed its subscription (always true
// without an adapter). A channel's topic is subscribed when it joins, in
// the background; cluster-aware code that must not miss a message from
// another node after a join polls this first.
func (e *Endpoint) Subscribed(topic string) bool {
	if e.broker == nil {
		return true
	}
	return e.broker.subscribed(topic)
}
