package phx

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// ErrPublishQueueFull is returned by [Endpoint.Broadcast] and the channel
// broadcasts, together with the number of local channels reached, when the
// queue of messages for other nodes ([Config.PublishQueue]) is full: the
// broadcast reached this node's subscribers but not the other nodes. It is
// counted in [PubSubStats.Dropped].
var ErrPublishQueueFull = errors.New("phx: pubsub publish queue full; broadcast not sent to other nodes")

// PubSubStats are the counters of an endpoint's link to its PubSub adapter
// (see [Endpoint.PubSubStats]). The adapter's own counters (messages lost
// between nodes, reconnections) are in its Stats.
type PubSubStats struct {
	// Queued is how many broadcasts wait in the outbound queue now.
	Queued int
	// Published counts broadcasts the adapter accepted; PublishErrors
	// counts those it failed to send (they are lost).
	Published, PublishErrors uint64
	// Dropped counts broadcasts that were delivered locally but never
	// handed to the adapter: the outbound queue was full, or the endpoint
	// shut down before they went out.
	Dropped uint64
	// Pending is how many topics have local subscribers (or are the
	// socket id of local sessions, [ConnectInfo.ID]) while the adapter
	// has not yet confirmed their subscription (the broker is slow, down or
	// hung; or the topic was joined again while its Unsubscribe was under
	// way): broadcasts from other nodes on them are missed until it lands.
	Pending int
	// SubscribeErrors counts failed Subscribe and Unsubscribe calls; each
	// is retried with backoff while the local interest lasts.
	SubscribeErrors uint64
	// JoinWaitsExpired counts join replies sent after waiting
	// [Config.JoinAwaitsSubscription] in full, the subscription of their
	// topic still unconfirmed.
	JoinWaitsExpired uint64
	// Received counts broadcasts that came in from other nodes.
	Received uint64
}

const (
	defaultPublishQueue         = 4096
	defaultSubscribeConcurrency = 8

	// Retries of a failed Subscribe or Unsubscribe back off from
	// subscribeMinBackoff, doubling up to subscribeMaxBackoff.
	subscribeMinBackoff = 100 * time.Millisecond
	subscribeMaxBackoff = 5 * time.Second

	// stopGrace is how long Shutdown still waits, after its context ended
	// and the adapter's calls were cancelled, for them to return.
	stopGrace = time.Second
)

// broker is the endpoint's link to its PubSub adapter. Nothing on a
// connection's path or a broadcasting caller ever waits on the adapter:
//
//   - the hub records local interest in a topic (set) and returns; workers
//     make the Subscribe and Unsubscribe calls, at most one at a time per
//     topic and in order, coalescing flips that happened meanwhile, and
//     retry failures with backoff;
//   - broadcasts are delivered locally first, then queued (bounded, dropped
//     and counted when full) for one goroutine that publishes them in
//     order.
type broker struct {
	ps     PubSub
	log    *slog.Logger
	ctx    context.Context // cancelled by stop: aborts the adapter's calls
	cancel context.CancelFunc

	out     chan *Envelope
	closed  atomic.Bool   // stop began: nothing more is queued
	flush   chan struct{} // closed by stop: publish what is queued, then end
	pubDone chan struct{}

	published, publishErrors, dropped atomic.Uint64
	subErrors                         atomic.Uint64
	received                          atomic.Uint64
	joinWaitsExpired                  atomic.Uint64
	lastPubLog, lastSubLog            atomic.Int64 // unix nanos of the last warning

	mu         sync.Mutex
	topics     map[string]*subState
	ready      []string // topics to reconcile now, in order
	delayed    []string // topics waiting for a retry
	timer      *time.Timer
	timerAt    time.Time
	workers    int
	maxWorkers int
	stopped    bool
	wg         sync.WaitGroup
}

// subState is one topic's subscription: want is the local interest (local
// subscribers, or local sessions with the topic as socket id: byHub,
// byID), have what the adapter last confirmed. queued is set while the topic is in
// ready or delayed or being reconciled, so it is handled by one worker at
// a time.
type subState struct {
	want, have  bool
	byHub, byID bool
	queued      bool
	failures    int
	due         time.Time
	// landed is closed when have is set, when the topic is forgotten or
	// when the broker stops; made by landing for joins that wait.
	landed chan struct{}
}

// landing returns a channel closed once the adapter has confirmed the
// subscription of topic, or nil when it has already (or nothing is
// wanted of it, or the broker stopped). A topic with a call under way may
// be being unsubscribed: that waits for the topic to settle subscribed.
func (b *broker) landing(topic string) <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.topics[topic]
	if st == nil || st.have && !st.queued || !st.want || b.stopped {
		return nil
	}
	if st.landed == nil {
		st.landed = make(chan struct{})
	}
	return st.landed
}

// landLocked closes st's landed channel, if any.
func (st *subState) landLocked() {
	if st.landed != nil {
		close(st.landed)
		st.landed = nil
	}
}

func newBroker(ps PubSub, log *slog.Logger, queue, workers int) *broker {
	ctx, cancel := context.WithCancel(context.Background())
	b := &broker{
		ps: ps, log: log, ctx: ctx, cancel: cancel,
		out:        make(chan *Envelope, queue),
		flush:      make(chan struct{}),
		pubDone:    make(chan struct{}),
		topics:     map[string]*subState{},
		maxWorkers: workers,
	}
	go b.publisher()
	return b
}

// enqueue queues m for the other nodes without blocking. ctx only decides
// whether to queue: an ended ctx sends nothing.
func (b *broker) enqueue(ctx context.Context, m *Envelope) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.closed.Load() {
		b.dropped.Add(1)
		return ErrShutdown
	}
	select {
	case b.out <- m:
		return nil
	default:
		b.dropped.Add(1)
		b.warn(&b.lastPubLog, "phx: pubsub publish queue full; broadcast sent to local subscribers only", "topic", m.Topic, "event", m.Event, "queue", cap(b.out))
		return ErrPublishQueueFull
	}
}

// publisher hands queued messages to the adapter, in order, until stop.
func (b *broker) publisher() {
	defer close(b.pubDone)
	for {
		select {
		case m := <-b.out:
			b.publish(m)
		case <-b.flush:
			for {
				select {
				case m := <-b.out:
					b.publish(m)
				default:
					return
				}
			}
		}
	}
}

func (b *broker) publish(m *Envelope) {
	if b.ctx.Err() != nil {
		b.dropped.Add(1)
		return
	}
	err := b.ps.Publish(b.ctx, m)
	switch {
	case err == nil:
		b.published.Add(1)
	case b.ctx.Err() != nil:
		b.dropped.Add(1)
	default:
		b.publishErrors.Add(1)
		b.warn(&b.lastPubLog, "phx: pubsub publish failed; broadcast lost for other nodes", "topic", m.Topic, "event", m.Event, "error", err)
	}
}

// warn logs at most one line per second per kind.
func (b *broker) warn(last *atomic.Int64, msg string, args ...any) {
	now := time.Now().UnixNano()
	prev := last.Load()
	if now-prev < int64(time.Second) || !last.CompareAndSwap(prev, now) {
		return
	}
	b.log.Warn(msg, args...)
}

// set records whether topic has local subscribers. The hub calls it under
// its lock, so calls for one topic arrive in the order of the changes.
func (b *broker) set(topic string, on bool) { b.setInterest(topic, on, false) }

// setID records whether topic is the socket id of local sessions
// ([ConnectInfo.ID]); the id index calls it under its lock.
func (b *broker) setID(topic string, on bool) { b.setInterest(topic, on, true) }

func (b *broker) setInterest(topic string, on, byID bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.topics[topic]
	if st == nil {
		if !on {
			return
		}
		st = &subState{}
		b.topics[topic] = st
	}
	if byID {
		st.byID = on
	} else {
		st.byHub = on
	}
	st.want = st.byHub || st.byID
	if !st.queued && st.want != st.have {
		st.queued = true
		b.ready = append(b.ready, topic)
		b.spawnLocked(1)
	}
}

// spawnLocked starts up to n more workers, within maxWorkers.
func (b *broker) spawnLocked(n int) {
	for ; n > 0 && !b.stopped && b.workers < b.maxWorkers; n-- {
		b.workers++
		b.wg.Add(1)
		go b.work()
	}
}

// work reconciles ready topics until none is left.
func (b *broker) work() {
	defer b.wg.Done()
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.ready) > 0 && !b.stopped {
		topic := b.ready[0]
		b.ready[0] = ""
		b.ready = b.ready[1:]
		st := b.topics[topic]
		if st.want == st.have {
			b.settleLocked(topic, st)
			continue
		}
		on := st.want
		b.mu.Unlock()
		var err error
		if on {
			err = b.ps.Subscribe(b.ctx, topic)
		} else {
			err = b.ps.Unsubscribe(b.ctx, topic)
		}
		b.mu.Lock()
		if err == nil {
			st.have, st.failures = on, 0
			if on {
				st.landLocked()
			}
			if st.want != st.have {
				b.ready = append(b.ready, topic)
			} else {
				b.settleLocked(topic, st)
			}
			continue
		}
		if b.ctx.Err() != nil {
			break
		}
		b.subErrors.Add(1)
		b.warn(&b.lastSubLog, "phx: pubsub subscription change failed; retrying", "topic", topic, "subscribe", on, "error", err)
		st.failures++
		st.due = time.Now().Add(backoff(st.failures))
		b.delayed = append(b.delayed, topic)
		b.armLocked(st.due)
	}
	b.workers--
}

// settleLocked ends a topic's turn; a topic nobody wants is forgotten.
func (b *broker) settleLocked(topic string, st *subState) {
	st.queued = false
	if st.have || !st.want {
		st.landLocked()
	}
	if !st.want && !st.have {
		delete(b.topics, topic)
	}
}

func backoff(failures int) time.Duration {
	d := subscribeMinBackoff
	for i := 1; i < failures && d < subscribeMaxBackoff; i++ {
		d *= 2
	}
	return min(d, subscribeMaxBackoff)
}

// armLocked makes the retry timer fire by due.
func (b *broker) armLocked(due time.Time) {
	if b.stopped || (!b.timerAt.IsZero() && !due.Before(b.timerAt)) {
		return
	}
	b.timerAt = due
	if b.timer == nil {
		b.timer = time.AfterFunc(time.Until(due), b.retry)
	} else {
		b.timer.Reset(time.Until(due))
	}
}

// retry moves the topics whose backoff is over back to ready.
func (b *broker) retry() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.timerAt = time.Time{}
	now := time.Now()
	var next time.Time
	keep := b.delayed[:0]
	n := 0
	for _, topic := range b.delayed {
		st := b.topics[topic]
		if !st.due.After(now) {
			b.ready = append(b.ready, topic)
			n++
			continue
		}
		keep = append(keep, topic)
		if next.IsZero() || st.due.Before(next) {
			next = st.due
		}
	}
	clear(b.delayed[len(keep):])
	b.delayed = keep
	b.spawnLocked(n)
	if !next.IsZero() {
		b.armLocked(next)
	}
}

// stats returns the counters.
func (b *broker) stats() PubSubStats {
	b.mu.Lock()
	pending := 0
	for _, st := range b.topics {
		if st.want && (!st.have || st.queued) {
			pending++
		}
	}
	b.mu.Unlock()
	return PubSubStats{
		Queued:           len(b.out),
		Published:        b.published.Load(),
		PublishErrors:    b.publishErrors.Load(),
		Dropped:          b.dropped.Load(),
		Pending:          pending,
		SubscribeErrors:  b.subErrors.Load(),
		Received:         b.received.Load(),
		JoinWaitsExpired: b.joinWaitsExpired.Load(),
	}
}

// stop publishes what is queued (until ctx ends), then cancels the
// adapter's calls and waits up to stopGrace for the publisher, the workers
// and the receive loop (run, closed when it returned) to end.
func (b *broker) stop(ctx context.Context, run <-chan struct{}) error {
	var err error
	if !b.closed.Swap(true) {
		close(b.flush)
	}
	select {
	case <-b.pubDone:
	case <-ctx.Done():
		err = ctx.Err()
	}
	b.cancel()
	b.mu.Lock()
	b.stopped = true
	if b.timer != nil {
		b.timer.Stop()
	}
	for _, st := range b.topics {
		st.landLocked()
	}
	b.mu.Unlock()
	workers := make(chan struct{})
	go func() { b.wg.Wait(); close(workers) }()
	grace := time.NewTimer(stopGrace)
	defer grace.Stop()
	for _, done := range []<-chan struct{}{b.pubDone, workers, run} {
		if done == nil {
			continue
		}
		select {
		case <-done:
		case <-grace.C:
			if err == nil {
				err = context.DeadlineExceeded
			}
			return err
		}
	}
	// Anything queued after the publisher ended is not sent.
	for {
		select {
		case <-b.out:
			b.dropped.Add(1)
		default:
			return err
		}
	}
}

// subscribed reports whether the adapter confirmed the subscription of
// topic.
func (b *broker) subscribed(topic string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.topics[topic]
	return st != nil && st.have
}
