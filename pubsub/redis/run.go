package redis

import (
	"context"
	"errors"
	"net"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seance-go/seance/phx"
)

// Run receives messages from other nodes and hands each to deliver, on the
// calling goroutine, until ctx ends; then it returns ctx.Err(). The endpoint
// calls it. When Redis goes away Run keeps trying to reconnect (with
// backoff between MinBackoff and MaxBackoff) and resubscribes every channel
// this node wants; it logs the outage and, once back, how long it lasted
// and how many messages were lost meanwhile. Own messages and direct
// messages for other nodes are not delivered; messages of an unknown
// encoding version are counted, logged and dropped.
func (p *PubSub) Run(ctx context.Context, deliver func(*phx.Envelope)) error {
	if !p.core.BeginRun() {
		return ErrRunning
	}
	defer p.core.EndRun()
	ctx = withRoute(ctx, p.route) // go-redis's lines about these calls go to Options.Logger

	p.core.SubMu.Lock()
	p.runs++
	run := p.runs
	p.ps = p.open(ctx)
	ps := p.ps
	p.core.SubMu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		// Unblocks a pending receive (of this Run, not a later one).
		p.core.SubMu.Lock()
		if p.runs == run && p.ps != nil {
			_ = p.ps.Close()
		}
		p.core.SubMu.Unlock()
	})
	defer func() {
		stop()
		p.core.SubMu.Lock()
		_ = p.ps.Close()
		p.ps = nil
		p.core.SubMu.Unlock()
		p.mu.Lock()
		p.connected = false
		p.live.Store(false)
		p.mu.Unlock()
	}()

	backoff := p.opts.MinBackoff
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, p.opts.HealthCheckInterval)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout() && !pinged:
				// Idle: check that the connection still answers.
				if perr := ps.Ping(ctx); perr == nil {
					pinged = true
					continue
				}
				p.down(err)
			case errors.As(err, &ne) && ne.Timeout():
				// No pong within an interval: replace the connection.
				pinged = false
				p.down(errors.New("no answer to ping"))
				ps = p.reopen(ctx)
			default:
				p.down(err)
			}
			if !sleep(ctx, backoff) {
				return ctx.Err()
			}
			backoff = min(2*backoff, p.opts.MaxBackoff)
			continue
		}
		pinged = false
		backoff = p.opts.MinBackoff
		p.up()
		switch m := msg.(type) {
		case *goredis.Subscription:
			switch m.Kind {
			case "subscribe":
				p.confirm(m.Channel)
			case "unsubscribe":
				p.unconfirm(m.Channel)
			}
		case *goredis.Message:
			p.core.Deliver(m.Channel, []byte(m.Payload), deliver)
		}
	}
}

// open creates the receive subscription for every wanted channel. Callers
// hold core.SubMu. A failure to reach Redis is not returned: the receive loop
// retries.
func (p *PubSub) open(ctx context.Context) *goredis.PubSub {
	ps := p.client.Subscribe(ctx)
	sctx, cancel := context.WithTimeout(ctx, p.opts.SubscribeTimeout)
	defer cancel()
	if err := ps.Subscribe(sctx, p.channels()...); err != nil && ctx.Err() == nil {
		p.down(err)
	}
	return ps
}

// reopen replaces the receive subscription (its connection stopped
// answering).
func (p *PubSub) reopen(ctx context.Context) *goredis.PubSub {
	p.core.SubMu.Lock()
	defer p.core.SubMu.Unlock()
	_ = p.ps.Close()
	p.ps = p.open(ctx)
	return p.ps
}

// down records that the receive connection is lost.
func (p *PubSub) down(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// The subscriptions are confirmed again once back.
	clear(p.confirmed)
	clear(p.unanswered)
	if !p.connected {
		if !p.everUp {
			p.connLog.Warn(p.core.Log, "redis pubsub: cannot reach Redis; retrying", "addr", p.addr(), "error", err)
		}
		return
	}
	p.connected = false
	p.live.Store(false)
	p.core.Disconnected()
	p.core.Warn("connection lost; broadcasts from and to other nodes are lost until it is back", "error", err)
}

// up records that the receive connection answered.
func (p *PubSub) up() {
	if p.live.Load() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.connected {
		return
	}
	p.connected = true
	p.live.Store(true)
	if !p.everUp {
		p.everUp = true
		p.core.Info("connected", "addr", p.addr(), "mode", p.opts.Mode.String())
		return
	}
	o := p.core.Reconnected()
	p.core.Warn("reconnected and resubscribed", "outage", o.Duration, "publish_errors_meanwhile", o.PublishErrors)
}

func (p *PubSub) addr() string {
	if p.owned {
		return p.opts.Addr
	}
	return "(Options.Client)"
}
