package redis

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/pubsub/internal/adapter"
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

	busCh, nodeCh, topicPrefix, nodePrefix string

	// core counts the interest in each Redis channel; its SubMu also
	// guards ps and runs.
	core *adapter.Core
	ps   *goredis.PubSub // the receive subscription while Run runs
	runs int             // Run calls so far

	// mu guards the subscription waiters, the confirmed subscriptions of
	// the current connection and the connection state.
	mu         sync.Mutex
	waiters    map[string][]chan struct{}
	confirmed  map[string]bool
	unanswered map[string]int // SUBSCRIBE commands sent and not yet confirmed
	connected  bool
	everUp     bool

	live atomic.Bool // connected, for the receive loop's fast path

	connLog adapter.Limiter
	route   *logRoute // where go-redis's lines about this PubSub go (log.go)
}

// New returns a PubSub for the given options. It does not connect: the
// connection is made by [PubSub.Run] (started by the endpoint) and by the
// first Publish.
func New(opts Options) (*PubSub, error) {
	cfg, err := opts.setDefaults()
	if err != nil {
		return nil, err
	}
	p := &PubSub{
		opts:        opts,
		client:      opts.Client,
		core:        adapter.NewCore(cfg),
		busCh:       opts.Namespace + ":bus",
		topicPrefix: opts.Namespace + ":t:",
		nodePrefix:  opts.Namespace + ":n:",
		waiters:     map[string][]chan struct{}{},
		confirmed:   map[string]bool{},
		unanswered:  map[string]int{},
	}
	p.nodeCh = p.nodePrefix + opts.Node
	p.route = &logRoute{log: p.core.Log}
	useLogRouter()
	if p.client == nil {
		co := &goredis.Options{
			Addr:                  opts.Addr,
			ContextTimeoutEnabled: true,
			// The receive loop reconnects with its own backoff; a publish
			// fails fast instead of retrying into its timeout.
			MaxRetries:    -1,
			DialerRetries: 1,
		}
		co.Dialer = routedDialer(co, p.route)
		p.client = goredis.NewClient(co)
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
	buf := p.core.Encode(ch, m)
	ctx, cancel := context.WithTimeout(withRoute(ctx, p.route), p.opts.PublishTimeout)
	defer cancel()
	return p.core.Published(m, p.client.Publish(ctx, ch, buf).Err())
}

// Subscribe declares local interest in topic. In Topics mode it subscribes
// this node to the topic's Redis channel and waits (up to
// SubscribeTimeout) for Redis to confirm it, so that broadcasts made after
// it returns nil reach this node. It is idempotent: calling it again for a
// subscribed topic only waits for the confirmation again (the endpoint
// retries after an error). When Redis is unreachable or does not answer,
// the interest is kept, an error is returned, and the subscription is made
// on reconnect. Before Run starts it only records the interest and returns
// nil: Run subscribes. In Bus mode it does nothing.
func (p *PubSub) Subscribe(ctx context.Context, topic string) error {
	if p.opts.Mode == Bus {
		return nil
	}
	return p.change(ctx, p.topicPrefix+topic, true)
}

// Unsubscribe withdraws the interest declared with Subscribe and
// unsubscribes the topic's Redis channel (idempotent). In Bus mode it does
// nothing.
func (p *PubSub) Unsubscribe(ctx context.Context, topic string) error {
	if p.opts.Mode == Bus {
		return nil
	}
	return p.change(ctx, p.topicPrefix+topic, false)
}

func (p *PubSub) change(ctx context.Context, ch string, on bool) error {
	ctx, cancel := context.WithTimeout(withRoute(ctx, p.route), p.opts.SubscribeTimeout)
	defer cancel()
	var (
		err     error
		running bool
	)
	p.core.Set(ch, on, func(on bool) bool {
		if !on {
			p.unconfirm(ch)
		}
		if p.ps == nil {
			// No receive loop yet: Run subscribes to what is wanted when
			// it starts.
			return true
		}
		if on {
			p.mu.Lock()
			p.unanswered[ch]++
			p.mu.Unlock()
			err = p.ps.Subscribe(ctx, ch)
		} else {
			err = p.ps.Unsubscribe(ctx, ch)
		}
		// go-redis has recorded the change even on error, and applies it
		// on reconnect.
		return true
	})
	if !on {
		if err != nil {
			return p.core.Errorf("unsubscribe %q (applied on reconnect): %w", ch, err)
		}
		return nil
	}
	if err != nil {
		return p.core.Errorf("subscribe %q (applied on reconnect): %w", ch, err)
	}
	p.core.SubMu.Lock()
	running = p.ps != nil
	p.core.SubMu.Unlock()
	if !running {
		return nil
	}
	wait, done := p.addWaiter(ch)
	switch {
	case done:
		return nil
	case wait == nil:
		return p.core.Errorf("subscription to %q not confirmed: not connected (made on reconnect)", ch)
	}
	select {
	case <-wait:
		return nil
	case <-ctx.Done():
		p.dropWaiter(ch, wait)
		return p.core.Errorf("subscription to %q not confirmed (applied on reconnect): %w", ch, ctx.Err())
	}
}

// addWaiter registers a wait for Redis to confirm a subscription to ch. It
// reports done when Redis has confirmed it already, and returns nil when
// the receive loop is not connected: nothing would confirm.
func (p *PubSub) addWaiter(ch string) (wait chan struct{}, done bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.confirmed[ch] {
		return nil, true
	}
	if !p.connected {
		return nil, false
	}
	w := make(chan struct{})
	p.waiters[ch] = append(p.waiters[ch], w)
	return w, false
}

// unconfirm forgets the confirmation of ch, which is being unsubscribed.
func (p *PubSub) unconfirm(ch string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.confirmed, ch)
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

// confirm records a subscription Redis confirmed and wakes its waiters,
// once Redis has answered every SUBSCRIBE sent for ch (an earlier one may
// belong to a subscription unsubscribed since).
func (p *PubSub) confirm(ch string) {
	p.mu.Lock()
	if n := p.unanswered[ch] - 1; n > 0 {
		p.unanswered[ch] = n
		p.mu.Unlock()
		return
	}
	delete(p.unanswered, ch)
	p.confirmed[ch] = true
	ws := p.waiters[ch]
	delete(p.waiters, ch)
	p.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
}

// channels lists the Redis channels this node must be subscribed to.
// Callers hold core.SubMu.
func (p *PubSub) channels() []string {
	if p.opts.Mode == Bus {
		return []string{p.busCh}
	}
	return p.core.Wanted([]string{p.nodeCh})
}

// sleep waits d or until ctx ends, reporting whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
