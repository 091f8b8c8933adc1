package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/pubsub/internal/wire"
)

// ErrRunning is returned by [PubSub.Run] while another Run is active.
var ErrRunning = errors.New("redis pubsub: already running")

// PubSub is a phx.PubSub over Redis pub/sub. Create it with [New], pass it
// as phx.Config.PubSub (or livestate.Config.Engine.PubSub); the endpoint
// runs its receive loop. All methods are safe for concurrent use.
type PubSub struct {
	opts   Options
	client goredis.UniversalClient
	owned  bool // client created by New, closed by Close
	log    *slog.Logger

	busCh, nodeCh, topicPrefix, nodePrefix string

	seq     wire.Sequencer
	tracker wire.Tracker
	running atomic.Bool

	// subMu orders subscription changes: the interest counts and the calls
	// that apply them to Redis, so that Redis ends up subscribed exactly to
	// the channels with a positive count whatever the order of concurrent
	// calls. It is never held while receiving.
	subMu    sync.Mutex
	interest map[string]int  // Redis channel → Subscribe calls minus Unsubscribe calls
	topics   atomic.Int64    // len(interest), for Stats
	ps       *goredis.PubSub // the receive subscription while Run runs
	runs     int             // Run calls so far

	// mu guards the subscription waiters and the connection state.
	mu          sync.Mutex
	waiters     map[string][]chan struct{}
	connected   bool
	everUp      bool
	outageStart time.Time
	outagePubErrs,
	outageLost uint64

	live atomic.Bool // connected, for the receive loop's fast path

	lossLog, pubLog, decodeLog, connLog limiter

	stats counters
}

// New returns a PubSub for the given options. It does not connect: the
// connection is made by [PubSub.Run] (started by the endpoint) and by the
// first Publish.
func New(opts Options) (*PubSub, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	p := &PubSub{
		opts:        opts,
		client:      opts.Client,
		log:         opts.Logger.With("pubsub", "redis", "node", opts.Node),
		busCh:       opts.Namespace + ":bus",
		topicPrefix: opts.Namespace + ":t:",
		nodePrefix:  opts.Namespace + ":n:",
		interest:    map[string]int{},
		waiters:     map[string][]chan struct{}{},
	}
	p.nodeCh = p.nodePrefix + opts.Node
	if p.client == nil {
		p.client = goredis.NewClient(&goredis.Options{
			Addr:                  opts.Addr,
			ContextTimeoutEnabled: true,
			// The receive loop reconnects with its own backoff; a publish
			// fails fast instead of retrying into its timeout.
			MaxRetries:    -1,
			DialerRetries: 1,
		})
		p.owned = true
	}
	return p, nil
}

// NodeName names this node in the cluster (Options.Node).
func (p *PubSub) NodeName() string { return p.opts.Node }

// Mode reports how broadcasts map to Redis channels.
func (p *PubSub) Mode() Mode { return p.opts.Mode }

// Close closes the Redis client if New created it. Call it after the
// endpoint has shut down.
func (p *PubSub) Close() error {
	if p.owned {
		return p.client.Close()
	}
	return nil
}

// channelOf returns the Redis channel that carries m.
func (p *PubSub) channelOf(m *phx.Envelope) string {
	switch {
	case p.opts.Mode == Bus:
		return p.busCh
	case m.ToNode != "":
		return p.nodePrefix + m.ToNode
	default:
		return p.topicPrefix + m.Topic
	}
}

// Publish sends m to the other nodes (to m.ToNode only, when set). A failure
// (Redis unreachable, PublishTimeout) is returned and counted in
// Stats.PublishErrors; the message is not retried.
func (p *PubSub) Publish(ctx context.Context, m *phx.Envelope) error {
	ch := p.channelOf(m)
	from := m.FromNode
	if from == "" {
		from = p.opts.Node
	}
	w := wire.Message{From: from, To: m.ToNode, Topic: m.Topic, Event: m.Event, Payload: m.Payload, Binary: m.Binary}
	w.Epoch, w.Seq = p.seq.Next(ch)
	buf := wire.Append(make([]byte, 0, wire.Size(&w)), &w)
	ctx, cancel := context.WithTimeout(ctx, p.opts.PublishTimeout)
	defer cancel()
	if err := p.client.Publish(ctx, ch, buf).Err(); err != nil {
		p.stats.publishErrors.Add(1)
		if ok, suppressed := p.pubLog.allow(); ok {
			p.log.Warn("redis pubsub: publish failed; the message is lost", "topic", m.Topic, "event", m.Event, "error", err, "similar_suppressed", suppressed)
		}
		return fmt.Errorf("redis pubsub: publish %q: %w", m.Topic, err)
	}
	p.stats.published.Add(1)
	return nil
}

// Subscribe declares local interest in topic. In Topics mode the first call
// for a topic subscribes this node to the topic's Redis channel and waits
// (up to SubscribeTimeout) for Redis to confirm it, so that broadcasts made
// after it returns reach this node. Calls are counted: the channel stays
// subscribed while Subscribe calls outnumber Unsubscribe calls, in whatever
// order concurrent calls arrive. When Redis is unreachable the interest is
// kept, an error is returned, and the subscription is made on reconnect. In
// Bus mode it does nothing.
func (p *PubSub) Subscribe(ctx context.Context, topic string) error {
	if p.opts.Mode == Bus {
		return nil
	}
	return p.change(ctx, p.topicPrefix+topic, +1)
}

// Unsubscribe withdraws interest declared with Subscribe; the Redis channel
// is unsubscribed when the count drops to zero. In Bus mode it does nothing.
func (p *PubSub) Unsubscribe(ctx context.Context, topic string) error {
	if p.opts.Mode == Bus {
		return nil
	}
	return p.change(ctx, p.topicPrefix+topic, -1)
}

func (p *PubSub) change(ctx context.Context, ch string, delta int) error {
	ctx, cancel := context.WithTimeout(ctx, p.opts.SubscribeTimeout)
	defer cancel()

	p.subMu.Lock()
	before := p.interest[ch]
	after := before + delta
	if after == 0 {
		delete(p.interest, ch)
	} else {
		p.interest[ch] = after
	}
	p.topics.Store(int64(len(p.interest)))
	on, off := before <= 0 && after > 0, before > 0 && after <= 0
	ps := p.ps
	if (!on && !off) || ps == nil {
		// No change for Redis, or no receive loop yet: Run subscribes to
		// what is wanted when it starts.
		p.subMu.Unlock()
		if off {
			p.tracker.Forget(ch)
		}
		return nil
	}
	var wait chan struct{}
	var err error
	op := "subscribe"
	if on {
		wait = p.addWaiter(ch)
		err = ps.Subscribe(ctx, ch)
	} else {
		op = "unsubscribe"
		err = ps.Unsubscribe(ctx, ch)
		p.tracker.Forget(ch)
	}
	p.subMu.Unlock()

	if err != nil {
		p.dropWaiter(ch, wait)
		// go-redis has recorded the change and applies it on reconnect.
		return fmt.Errorf("redis pubsub: %s %q (applied on reconnect): %w", op, ch, err)
	}
	if wait == nil {
		return nil
	}
	select {
	case <-wait:
		return nil
	case <-ctx.Done():
		p.dropWaiter(ch, wait)
		return fmt.Errorf("redis pubsub: subscription to %q not confirmed (applied on reconnect): %w", ch, ctx.Err())
	}
}

// addWaiter registers a wait for Redis to confirm a subscription to ch. It
// returns nil when the receive loop is not connected: nothing would confirm.
func (p *PubSub) addWaiter(ch string) chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.connected {
		return nil
	}
	w := make(chan struct{})
	p.waiters[ch] = append(p.waiters[ch], w)
	return w
}

func (p *PubSub) dropWaiter(ch string, w chan struct{}) {
	if w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	ws := p.waiters[ch]
	for i, x := range ws {
		if x == w {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(p.waiters, ch)
	} else {
		p.waiters[ch] = ws
	}
}

// confirm wakes the waiters of a subscription Redis confirmed.
func (p *PubSub) confirm(ch string) {
	p.mu.Lock()
	ws := p.waiters[ch]
	delete(p.waiters, ch)
	p.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
}

// channels lists the Redis channels this node must be subscribed to.
// Callers hold subMu.
func (p *PubSub) channels() []string {
	if p.opts.Mode == Bus {
		return []string{p.busCh}
	}
	out := make([]string, 0, len(p.interest)+1)
	out = append(out, p.nodeCh)
	for ch, n := range p.interest {
		if n > 0 {
			out = append(out, ch)
		}
	}
	return out
}
