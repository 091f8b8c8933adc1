package redis

import (
	"context"
	"errors"
	"net"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/pubsub/internal/wire"
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
	if !p.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer p.running.Store(false)

	p.subMu.Lock()
	p.runs++
	run := p.runs
	p.ps = p.open(ctx)
	ps := p.ps
	p.subMu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		// Unblocks a pending receive (of this Run, not a later one).
		p.subMu.Lock()
		if p.runs == run && p.ps != nil {
			_ = p.ps.Close()
		}
		p.subMu.Unlock()
	})
	defer func() {
		stop()
		p.subMu.Lock()
		_ = p.ps.Close()
		p.ps = nil
		p.subMu.Unlock()
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
			if m.Kind == "subscribe" {
				p.confirm(m.Channel)
			}
		case *goredis.Message:
			p.handle(m, deliver)
		}
	}
}

// open creates the receive subscription for every wanted channel. Callers
// hold subMu. A failure to reach Redis is not returned: the receive loop
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
	p.subMu.Lock()
	defer p.subMu.Unlock()
	_ = p.ps.Close()
	p.ps = p.open(ctx)
	return p.ps
}

// down records that the receive connection is lost.
func (p *PubSub) down(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.connected {
		if !p.everUp {
			if ok, n := p.connLog.allow(); ok {
				p.log.Warn("redis pubsub: cannot reach Redis; retrying", "addr", p.addr(), "error", err, "similar_suppressed", n)
			}
		}
		return
	}
	p.connected = false
	p.live.Store(false)
	p.outageStart = time.Now()
	p.outagePubErrs = p.stats.publishErrors.Load()
	p.outageLost = uint64(max(0, p.stats.lost.Load()))
	p.stats.disconnects.Add(1)
	p.log.Warn("redis pubsub: connection lost; broadcasts from and to other nodes are lost until it is back", "error", err)
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
		p.log.Info("redis pubsub: connected", "addr", p.addr(), "mode", p.opts.Mode.String())
		return
	}
	p.stats.reconnects.Add(1)
	p.log.Warn("redis pubsub: reconnected and resubscribed",
		"outage", time.Since(p.outageStart).Round(time.Millisecond),
		"publish_errors_meanwhile", p.stats.publishErrors.Load()-p.outagePubErrs)
}

func (p *PubSub) addr() string {
	if p.owned {
		return p.opts.Addr
	}
	return "(Options.Client)"
}

// handle decodes one message and delivers it unless it is ours or addressed
// to another node.
func (p *PubSub) handle(m *goredis.Message, deliver func(*phx.Envelope)) {
	w, err := wire.Decode([]byte(m.Payload))
	if err != nil {
		if errors.Is(err, wire.ErrUnknownVersion) {
			p.stats.unknownVersion.Add(1)
		} else {
			p.stats.malformed.Add(1)
		}
		if ok, n := p.decodeLog.allow(); ok {
			p.log.Warn("redis pubsub: message dropped", "channel", m.Channel, "error", err, "similar_suppressed", n)
		}
		return
	}
	if w.From == p.opts.Node || (w.To != "" && w.To != p.opts.Node) {
		return
	}
	if d := p.tracker.Observe(m.Channel, w.From, w.Epoch, w.Seq); d != 0 {
		p.stats.lost.Add(d)
		if d > 0 {
			if ok, n := p.lossLog.allow(); ok {
				p.log.Warn("redis pubsub: messages from another node were lost", "from", w.From, "channel", m.Channel, "lost", d, "similar_suppressed", n)
			}
		}
	}
	p.stats.received.Add(1)
	deliver(&phx.Envelope{FromNode: w.From, ToNode: w.To, Topic: w.Topic, Event: w.Event, Payload: w.Payload, Binary: w.Binary})
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
