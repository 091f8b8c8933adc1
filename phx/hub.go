package phx

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// hub is the in-process publish/subscribe registry: topic → subscribed
// channels. Joining and leaving are O(1) under the hub's lock; publishing
// reads an immutable snapshot of a topic's subscribers without the lock,
// rebuilt (once) by the first publish after a change.
type hub struct {
	ep     *Endpoint
	broker *broker // nil without PubSub
	mu     sync.Mutex
	topics sync.Map // string → *topicSubs
	claims sync.Map // string → *claim (claim.go)

	// onFirst, set by tests only, runs (outside the lock) when a topic
	// gains its first local subscriber.
	onFirst func(topic string)
}

// topicSubs is one topic's subscribers. subs and index are guarded by the
// hub's lock; snap is nil while stale.
type topicSubs struct {
	subs  []subscription
	index map[*Channel]int // position in subs
	snap  atomic.Pointer[[]subscription]
}

type subscription struct {
	ch  *Channel
	own bool // the channel's own topic (fastlane unless it intercepts)
}

func (h *hub) subscribe(topic string, ch *Channel, own bool) {
	h.mu.Lock()
	first := h.subscribeLocked(topic, ch, own)
	if first && h.broker != nil {
		// Under the lock, so that the broker sees the changes of a topic
		// in order; it never blocks.
		h.broker.set(topic, true)
	}
	h.mu.Unlock()
	if first && h.onFirst != nil {
		h.onFirst(topic)
	}
}

func (h *hub) subscribeLocked(topic string, ch *Channel, own bool) (first bool) {
	var t *topicSubs
	if p, ok := h.topics.Load(topic); ok {
		t = p.(*topicSubs)
	} else {
		t = &topicSubs{index: map[*Channel]int{}}
		h.topics.Store(topic, t)
	}
	if _, ok := t.index[ch]; ok {
		return false
	}
	t.index[ch] = len(t.subs)
	t.subs = append(t.subs, subscription{ch: ch, own: own})
	t.snap.Store(nil)
	return len(t.subs) == 1
}

func (h *hub) unsubscribe(topic string, ch *Channel) {
	h.mu.Lock()
	if h.unsubscribeLocked(topic, ch) && h.broker != nil {
		h.broker.set(topic, false)
	}
	h.mu.Unlock()
}

func (h *hub) unsubscribeLocked(topic string, ch *Channel) (last bool) {
	p, ok := h.topics.Load(topic)
	if !ok {
		return false
	}
	t := p.(*topicSubs)
	i, ok := t.index[ch]
	if !ok {
		return false
	}
	delete(t.index, ch)
	n := len(t.subs) - 1
	if i != n {
		t.subs[i] = t.subs[n]
		t.index[t.subs[i].ch] = i
	}
	t.subs[n] = subscription{}
	t.subs = t.subs[:n]
	t.snap.Store(nil)
	if n == 0 {
		h.topics.Delete(topic)
		return true
	}
	return false
}

// subscribers returns the current subscribers of topic. The slice is
// shared and must not be modified.
func (h *hub) subscribers(topic string) []subscription {
	p, ok := h.topics.Load(topic)
	if !ok {
		return nil
	}
	t := p.(*topicSubs)
	if snap := t.snap.Load(); snap != nil {
		return *snap
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if snap := t.snap.Load(); snap != nil {
		return *snap
	}
	snap := slices.Clone(t.subs)
	t.snap.Store(&snap)
	return snap
}

// Prepared is a message shaped like a broadcast (join_ref and ref null),
// encoded at most once per protocol version however many channels it is
// pushed to with [Channel.PushPrepared]. phoenix.js delivers such frames to
// the channel of the topic whatever its join_ref.
type Prepared struct{ b broadcast }

// Prepare builds a message for [Channel.PushPrepared]. The payload is
// JSON-encoded ({} for nil) or a [Binary].
func Prepare(topic, event string, payload any) (*Prepared, error) {
	out := Outgoing{Event: event}
	if err := setPayload(&out, payload); err != nil {
		return nil, err
	}
	return &Prepared{b: broadcast{Broadcast: Broadcast{Topic: topic, Event: event, Payload: Payload{Data: out.Payload, Binary: out.Binary}}}}, nil
}

// PrepareRef is [Prepare] for a message that carries ref: its frame has a
// null join_ref and this ref, which phoenix.js hands to the channel's `on`
// callbacks as their second argument (the history package puts stream
// positions there).
func PrepareRef(topic, event, ref string, payload any) (*Prepared, error) {
	p, err := Prepare(topic, event, payload)
	if err != nil {
		return nil, err
	}
	p.b.ref = NewRef(ref)
	return p, nil
}

// broadcast is one published message; its frame is encoded at most once per
// serializer version, however many subscribers receive it (fastlane).
type broadcast struct {
	Broadcast
	ref    Ref // PrepareRef
	once   [2]sync.Once
	frames [2]Frame
	errs   [2]error
	shared [2]SharedFrame // the frames' Shared
}

func (b *broadcast) frame(s Serializer) (Frame, error) {
	var i int
	switch s.(type) {
	case v2:
		i = 0
	case v1:
		i = 1
	default:
		// A serializer of the application's: its frames cannot share the
		// built-in ones, whatever its Version says.
		return s.Encode(b.outgoing())
	}
	b.once[i].Do(func() {
		b.frames[i], b.errs[i] = s.Encode(b.outgoing())
		b.frames[i].Shared = &b.shared[i]
	})
	return b.frames[i], b.errs[i]
}

func (b *broadcast) outgoing() *Outgoing {
	out := &Outgoing{
		Kind: KindBroadcast, Topic: b.Topic, Event: b.Event,
		Payload: b.Payload.Data, Binary: b.Payload.Binary,
	}
	if !b.ref.IsNull() {
		out.Kind, out.Ref = KindPush, b.ref
	}
	return out
}

// publish delivers b to every subscriber of its topic except `except`.
// A claimed topic ([Endpoint.Claim]) hands b to its claim once instead of
// to the channels whose own topic it is (they are counted: the claim acts
// for them).
//
// Delivering usually writes the frame to the subscriber's socket on this
// goroutine (the transports' inline flush), so a large topic's list is
// delivered by up to GOMAXPROCS goroutines: each one's writes go out on a
// core of its own. They take the list in chunks of fanoutChunk, each the
// next one not taken yet, so that a goroutine that starts late, or whose
// core other processes hold up, takes fewer chunks instead of holding up
// the publish. publish returns once every goroutine is done, so that a
// publisher's broadcasts still reach each subscriber in order.
func (h *hub) publish(b *broadcast, except *Channel) int {
	claim := h.claimOf(b.Topic)
	if claim != nil {
		claim(&b.Broadcast)
	}
	subs := h.subscribers(b.Topic)
	parts := fanoutParts(len(subs), runtime.GOMAXPROCS(0))
	if parts <= 1 {
		return deliverAll(b, subs, except, claim != nil, true)
	}
	var next atomic.Int64 // start of the next chunk not taken
	deliverChunks := func() int {
		n := 0
		for {
			end := int(next.Add(fanoutChunk))
			start := end - fanoutChunk
			if start >= len(subs) {
				return n
			}
			n += deliverAll(b, subs[start:min(end, len(subs))], except, claim != nil, false)
		}
	}
	var wg sync.WaitGroup
	var n atomic.Int64
	for range parts - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.Add(int64(deliverChunks()))
		}()
	}
	first := deliverChunks()
	wg.Wait()
	return first + int(n.Load())
}

// fanoutChunk is how many subscribers a goroutine of a split publish takes
// from the list at a time: a few hundred microseconds of writes, small
// enough for the goroutines to end close together.
const fanoutChunk = 64

// fanoutPart is how many subscribers a topic has per goroutine of a split
// publish: with fewer, a goroutine costs more than the writes it takes
// over. A topic with fewer than two parts' worth is delivered on the
// publishing goroutine alone, as are all topics with GOMAXPROCS 1.
const fanoutPart = 256

// fanoutParts is the number of goroutines a publish to subs subscribers
// uses: at most procs, and at most one per fanoutPart subscribers.
func fanoutParts(subs, procs int) int {
	return max(1, min(procs, subs/fanoutPart))
}

// deliverAll delivers b to subs except `except`; the channels of the
// topic's own subscriptions are counted but skipped when claimed (the
// claim has the message).
func deliverAll(b *broadcast, subs []subscription, except *Channel, claimed, many bool) int {
	n := 0
	for _, s := range subs {
		if s.ch == except {
			continue
		}
		if s.own && claimed {
			n++ // reached through the claim
			continue
		}
		s.ch.deliver(b, s.own, many)
		n++
	}
	return n
}
