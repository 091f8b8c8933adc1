package nats

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	natsgo "github.com/nats-io/nats.go"

	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/pubsub/internal/adapter"
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

	busSubj, nodeSubj string
	msgs              chan *natsgo.Msg

	// core counts the interest in each subject; its SubMu also guards subs
	// and base.
	core *adapter.Core
	subs map[string]*natsgo.Subscription
	base *natsgo.Subscription
}

// New returns a PubSub. With Options.Conn nil it connects to Options.URL;
// an unreachable server is not an error: the connection keeps retrying in
// the background.
func New(opts Options) (*PubSub, error) {
	cfg, err := opts.setDefaults()
	if err != nil {
		return nil, err
	}
	p := &PubSub{
		opts:     opts,
		nc:       opts.Conn,
		core:     adapter.NewCore(cfg),
		busSubj:  opts.Namespace + ".bus",
		nodeSubj: opts.Namespace + ".n." + token(opts.Node),
		msgs:     make(chan *natsgo.Msg, opts.Buffer),
		subs:     map[string]*natsgo.Subscription{},
	}
	if p.nc == nil {
		nc, err := natsgo.Connect(opts.URL,
			natsgo.Name("seance "+opts.Node),
			natsgo.MaxReconnects(-1),
			natsgo.ReconnectWait(opts.ReconnectWait),
			natsgo.RetryOnFailedConnect(true),
			natsgo.ConnectHandler(func(*natsgo.Conn) { p.core.Info("connected", "url", opts.URL, "mode", opts.Mode.String()) }),
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
			p.core.Warn("subscription not confirmed yet", "subject", subj, "error", err)
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
	p.core.SubMu.Lock()
	defer p.core.SubMu.Unlock()
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
	return p.core.Published(m, p.nc.Publish(subj, p.core.Encode(subj, m)))
}

// Subscribe declares local interest in topic. In Topics mode it subscribes
// to the topic's subject and waits (up to SubscribeTimeout) until the
// server has registered it, so that broadcasts made after it returns nil
// reach this node. It is idempotent: calling it again for a subscribed
// topic only waits for the server again (the endpoint retries after an
// error). While the connection is down the subscription is kept, made on
// reconnect, and an error is returned. In Bus mode it does nothing.
func (p *PubSub) Subscribe(ctx context.Context, topic string) error {
	if p.opts.Mode == Bus {
		return nil
	}
	return p.change(ctx, p.opts.Namespace+".t."+token(topic), true)
}

// Unsubscribe withdraws the interest declared with Subscribe and removes
// the subscription (idempotent). In Bus mode it does nothing.
func (p *PubSub) Unsubscribe(ctx context.Context, topic string) error {
	if p.opts.Mode == Bus {
		return nil
	}
	return p.change(ctx, p.opts.Namespace+".t."+token(topic), false)
}

func (p *PubSub) change(ctx context.Context, subj string, on bool) error {
	var (
		removed *natsgo.Subscription
		err     error
	)
	p.core.Set(subj, on, func(on bool) bool {
		if !on {
			removed = p.subs[subj]
			delete(p.subs, subj)
			return true
		}
		var sub *natsgo.Subscription
		if sub, err = p.nc.ChanSubscribe(subj, p.msgs); err != nil {
			return false // not recorded: a retry subscribes again
		}
		p.subs[subj] = sub
		return true
	})
	switch {
	case err != nil:
		return p.core.Errorf("subscribe %s: %w", subj, err)
	case removed != nil:
		if err := removed.Unsubscribe(); err != nil {
			return p.core.Errorf("unsubscribe %s: %w", subj, err)
		}
	case on && !p.nc.IsConnected():
		return p.core.Errorf("subscription to %s not confirmed: not connected (made on reconnect)", subj)
	case on:
		ctx, cancel := context.WithTimeout(ctx, p.opts.SubscribeTimeout)
		defer cancel()
		if err := p.nc.FlushWithContext(ctx); err != nil {
			return p.core.Errorf("subscription to %s not confirmed (kept): %w", subj, err)
		}
	}
	return nil
}

// Run hands messages from other nodes to deliver, on the calling goroutine,
// until ctx ends; then it returns ctx.Err(). The NATS client reconnects and
// resubscribes by itself. Own messages and direct messages for other nodes
// are not delivered; messages of an unknown encoding version are counted,
// logged and dropped.
func (p *PubSub) Run(ctx context.Context, deliver func(*phx.Envelope)) error {
	if !p.core.BeginRun() {
		return ErrRunning
	}
	defer p.core.EndRun()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m := <-p.msgs:
			p.core.Deliver(m.Subject, m.Data, deliver)
		}
	}
}

func (p *PubSub) disconnected(_ *natsgo.Conn, err error) {
	p.core.Disconnected()
	p.core.Warn("connection lost; reconnecting (publishes are buffered meanwhile)", "error", err)
}

func (p *PubSub) reconnected(*natsgo.Conn) {
	o := p.core.Reconnected()
	p.core.Warn("reconnected and resubscribed", "outage", o.Duration,
		"published_meanwhile", o.Published, "publish_errors", p.core.Stats(true).PublishErrors)
}

func (p *PubSub) asyncError(_ *natsgo.Conn, sub *natsgo.Subscription, err error) {
	subj := ""
	if sub != nil {
		subj = sub.Subject
	}
	p.core.WarnLoss("asynchronous error (a slow consumer drops messages)", "subject", subj, "error", err)
}
