package nats

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/pubsub/internal/wire"
)

// ErrRunning is returned by [PubSub.Run] while another Run is active.
var ErrRunning = errors.New("nats pubsub: already running")

// PubSub is a phx.PubSub over NATS core subjects. Create it with [New] and
// pass it as phx.Config.PubSub; the endpoint runs its receive loop. All
// methods are safe for concurrent use.
type PubSub struct {
	opts  Options
	nc    *natsgo.Conn
	owned bool
	log   *slog.Logger

	busSubj, nodeSubj string
	msgs              chan *natsgo.Msg

	seq     wire.Sequencer
	tracker wire.Tracker
	running atomic.Bool

	// subMu orders subscription changes so that the subjects subscribed are
	// exactly those with a positive count, whatever the order of concurrent
	// calls.
	subMu    sync.Mutex
	interest map[string]int
	topics   atomic.Int64 // len(interest), for Stats
	subs     map[string]*natsgo.Subscription
	base     *natsgo.Subscription

	mu          sync.Mutex
	outageStart time.Time
	outagePubs  uint64

	lossLog, pubLog, decodeLog limiter
	stats                      counters
}

// New returns a PubSub. With Options.Conn nil it connects to Options.URL;
// an unreachable server is not an error: the connection keeps retrying in
// the background.
func New(opts Options) (*PubSub, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	p := &PubSub{
		opts:     opts,
		nc:       opts.Conn,
		log:      opts.Logger.With("pubsub", "nats", "node", opts.Node),
		busSubj:  opts.Namespace + ".bus",
		nodeSubj: opts.Namespace + ".n." + token(opts.Node),
		msgs:     make(chan *natsgo.Msg, opts.Buffer),
		interest: map[string]int{},
		subs:     map[string]*natsgo.Subscription{},
	}
	if p.nc == nil {
		nc, err := natsgo.Connect(opts.URL,
			natsgo.Name("seance "+opts.Node),
			natsgo.MaxReconnects(-1),
			natsgo.ReconnectWait(opts.ReconnectWait),
			natsgo.RetryOnFailedConnect(true),
			natsgo.ConnectHandler(func(*natsgo.Conn) { p.log.Info("nats pubsub: connected", "url", opts.URL, "mode", opts.Mode.String()) }),
			natsgo.DisconnectErrHandler(p.disconnected),
			natsgo.ReconnectHandler(p.reconnected),
			natsgo.ErrorHandler(p.asyncError),
		)
		if err != nil {
			return nil, fmt.Errorf("nats pubsub: connect %s: %w", opts.URL, err)
		}
		p.nc, p.owned = nc, true
	}
	subj := p.nodeSubj
	if opts.Mode == Bus {
		subj = p.busSubj
	}
	sub, err := p.nc.ChanSubscribe(subj, p.msgs)
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("nats pubsub: subscribe %s: %w", subj, err)
	}
	p.base = sub
	if p.nc.IsConnected() {
		// Make sure the server has registered it before New returns.
		if err := p.nc.FlushTimeout(opts.SubscribeTimeout); err != nil {
			p.log.Warn("nats pubsub: subscription not confirmed yet", "subject", subj, "error", err)
		}
	}
	return p, nil
}

// token turns any string into a valid subject token.
func token(s string) string { return "_" + base64.RawURLEncoding.EncodeToString([]byte(s)) }

// NodeName names this node in the cluster (Options.Node).
func (p *PubSub) NodeName() string { return p.opts.Node }

// Mode reports how broadcasts map to subjects.
func (p *PubSub) Mode() Mode { return p.opts.Mode }

// Close closes the connection if New made it, or else removes this
// PubSub's subscriptions from the shared connection.
func (p *PubSub) Close() error {
	if p.owned {
		p.nc.Close()
		return nil
	}
	p.subMu.Lock()
	defer p.subMu.Unlock()
	var errs []error
	unsub := func(s *natsgo.Subscription) {
		// A closed connection has dropped its subscriptions already.
		if err := s.Unsubscribe(); err != nil && !errors.Is(err, natsgo.ErrConnectionClosed) && !errors.Is(err, natsgo.ErrBadSubscription) {
			errs = append(errs, err)
		}
	}
	if p.base != nil {
		unsub(p.base)
		p.base = nil
	}
	for subj, s := range p.subs {
		unsub(s)
		delete(p.subs, subj)
	}
	return errors.Join(errs...)
}

func (p *PubSub) subjectOf(m *phx.Envelope) string {
	switch {
	case p.opts.Mode == Bus:
		return p.busSubj
	case m.ToNode != "":
		return p.opts.Namespace + ".n." + token(m.ToNode)
	default:
		return p.opts.Namespace + ".t." + token(m.Topic)
	}
}

// Publish sends m to the other nodes (to m.ToNode only, when set). While
// the connection is being re-established NATS buffers outgoing messages
// (8 MiB by default) and sends them once back; past that, and on other
// failures, the error is returned and counted in Stats.PublishErrors.
func (p *PubSub) Publish(ctx context.Context, m *phx.Envelope) error {
	subj := p.subjectOf(m)
	from := m.FromNode
	if from == "" {
		from = p.opts.Node
	}
	w := wire.Message{From: from, To: m.ToNode, Topic: m.Topic, Event: m.Event, Payload: m.Payload, Binary: m.Binary}
	w.Epoch, w.Seq = p.seq.Next(subj)
	if err := p.nc.Publish(subj, wire.Append(make([]byte, 0, wire.Size(&w)), &w)); err != nil {
		p.stats.publishErrors.Add(1)
		if ok, n := p.pubLog.allow(); ok {
			p.log.Warn("nats pubsub: publish failed; the message is lost", "topic", m.Topic, "event", m.Event, "error", err, "similar_suppressed", n)
		}
		return fmt.Errorf("nats pubsub: publish %q: %w", m.Topic, err)
	}
	p.stats.published.Add(1)
	return nil
}

// Subscribe declares local interest in topic. In Topics mode the first call
// for a topic subscribes to its subject and, when connected, waits (up to
// SubscribeTimeout) until the server has registered it. Calls are counted
// as in pubsub/redis. In Bus mode it does nothing.
func (p *PubSub) Subscribe(ctx context.Context, topic string) error {
	if p.opts.Mode == Bus {
		return nil
	}
	return p.change(ctx, p.opts.Namespace+".t."+token(topic), +1)
}

// Unsubscribe withdraws interest declared with Subscribe. In Bus mode it
// does nothing.
func (p *PubSub) Unsubscribe(ctx context.Context, topic string) error {
	if p.opts.Mode == Bus {
		return nil
	}
	return p.change(ctx, p.opts.Namespace+".t."+token(topic), -1)
}

func (p *PubSub) change(ctx context.Context, subj string, delta int) error {
	p.subMu.Lock()
	before := p.interest[subj]
	after := before + delta
	if after == 0 {
		delete(p.interest, subj)
	} else {
		p.interest[subj] = after
	}
	p.topics.Store(int64(len(p.interest)))
	switch {
	case before <= 0 && after > 0:
		sub, err := p.nc.ChanSubscribe(subj, p.msgs)
		if err != nil {
			p.subMu.Unlock()
			return fmt.Errorf("nats pubsub: subscribe %s: %w", subj, err)
		}
		p.subs[subj] = sub
		p.subMu.Unlock()
		if !p.nc.IsConnected() {
			return nil // sent on reconnect
		}
		ctx, cancel := context.WithTimeout(ctx, p.opts.SubscribeTimeout)
		defer cancel()
		if err := p.nc.FlushWithContext(ctx); err != nil {
			return fmt.Errorf("nats pubsub: subscription to %s not confirmed (kept): %w", subj, err)
		}
		return nil
	case before > 0 && after <= 0:
		sub := p.subs[subj]
		delete(p.subs, subj)
		p.subMu.Unlock()
		p.tracker.Forget(subj)
		if sub != nil {
			if err := sub.Unsubscribe(); err != nil {
				return fmt.Errorf("nats pubsub: unsubscribe %s: %w", subj, err)
			}
		}
		return nil
	}
	p.subMu.Unlock()
	return nil
}

// Run hands messages from other nodes to deliver, on the calling goroutine,
// until ctx ends; then it returns ctx.Err(). The NATS client reconnects and
// resubscribes by itself. Own messages and direct messages for other nodes
// are not delivered; messages of an unknown encoding version are counted,
// logged and dropped.
func (p *PubSub) Run(ctx context.Context, deliver func(*phx.Envelope)) error {
	if !p.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer p.running.Store(false)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m := <-p.msgs:
			p.handle(m, deliver)
		}
	}
}

func (p *PubSub) handle(m *natsgo.Msg, deliver func(*phx.Envelope)) {
	w, err := wire.Decode(m.Data)
	if err != nil {
		if errors.Is(err, wire.ErrUnknownVersion) {
			p.stats.unknownVersion.Add(1)
		} else {
			p.stats.malformed.Add(1)
		}
		if ok, n := p.decodeLog.allow(); ok {
			p.log.Warn("nats pubsub: message dropped", "subject", m.Subject, "error", err, "similar_suppressed", n)
		}
		return
	}
	if w.From == p.opts.Node || (w.To != "" && w.To != p.opts.Node) {
		return
	}
	if d := p.tracker.Observe(m.Subject, w.From, w.Epoch, w.Seq); d != 0 {
		p.stats.lost.Add(d)
		if d > 0 {
			if ok, n := p.lossLog.allow(); ok {
				p.log.Warn("nats pubsub: messages from another node were lost", "from", w.From, "subject", m.Subject, "lost", d, "similar_suppressed", n)
			}
		}
	}
	p.stats.received.Add(1)
	deliver(&phx.Envelope{FromNode: w.From, ToNode: w.To, Topic: w.Topic, Event: w.Event, Payload: w.Payload, Binary: w.Binary})
}

func (p *PubSub) disconnected(_ *natsgo.Conn, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.disconnects.Add(1)
	p.outageStart = time.Now()
	p.outagePubs = p.stats.published.Load()
	p.log.Warn("nats pubsub: connection lost; reconnecting (publishes are buffered meanwhile)", "error", err)
}

func (p *PubSub) reconnected(*natsgo.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.reconnects.Add(1)
	p.log.Warn("nats pubsub: reconnected and resubscribed",
		"outage", time.Since(p.outageStart).Round(time.Millisecond),
		"published_meanwhile", p.stats.published.Load()-p.outagePubs,
		"publish_errors", p.stats.publishErrors.Load())
}

func (p *PubSub) asyncError(_ *natsgo.Conn, sub *natsgo.Subscription, err error) {
	if ok, n := p.lossLog.allow(); ok {
		subj := ""
		if sub != nil {
			subj = sub.Subject
		}
		p.log.Warn("nats pubsub: asynchronous error (a slow consumer drops messages)", "subject", subj, "error", err, "similar_suppressed", n)
	}
}
