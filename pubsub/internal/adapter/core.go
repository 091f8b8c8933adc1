// Package adapter is the broker-independent half of Seance's PubSub
// adapters (pubsub/redis, pubsub/nats): option defaults, the per-topic
// wanted keys that decide when to subscribe, message numbering and
// encoding on publish, decoding, filtering and loss counting on receipt,
// the counters behind Stats and the outage bookkeeping. An adapter keeps a
// [Core] and adds only what talks to its broker.
package adapter

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/pubsub/internal/wire"
)

// Core is the state an adapter shares with this package. Create it with
// [NewCore]; all methods are safe for concurrent use.
type Core struct {
	// Log is Config.Logger with the attributes pubsub=<Name> and
	// node=<Node>.
	Log *slog.Logger

	cfg    Config
	prefix string // "<Name> pubsub: "

	seq     wire.Sequencer
	tracker wire.Tracker
	running atomic.Bool

	// SubMu orders subscription changes: [Core.Set] holds it while the
	// adapter applies a change to the broker, so that the broker ends up
	// subscribed exactly to the wanted keys whatever the order of
	// concurrent calls. Adapters guard their own subscription state (the
	// broker subscriptions) with it too, and must not hold it while
	// receiving.
	SubMu    sync.Mutex
	interest map[string]struct{} // the wanted keys
	topics   atomic.Int64        // len(interest), for Stats

	outageMu                  sync.Mutex
	outageStart               time.Time
	outagePubs, outagePubErrs uint64

	stats                      counters
	lossLog, pubLog, decodeLog Limiter
}

// NewCore returns a Core for cfg, on which SetDefaults has succeeded.
func NewCore(cfg Config) *Core {
	return &Core{
		Log:      cfg.Logger.With("pubsub", cfg.Name, "node", cfg.Node),
		cfg:      cfg,
		prefix:   cfg.Name + " pubsub: ",
		interest: map[string]struct{}{},
	}
}

// Config returns the settings the Core was made with.
func (c *Core) Config() Config { return c.cfg }

// Errorf formats an error that starts with "<Name> pubsub: ".
func (c *Core) Errorf(format string, args ...any) error {
	return fmt.Errorf(c.prefix+format, args...)
}

// Warn logs "<Name> pubsub: "+msg at warning level on Log.
func (c *Core) Warn(msg string, args ...any) { c.Log.Warn(c.prefix+msg, args...) }

// Info logs "<Name> pubsub: "+msg at info level on Log.
func (c *Core) Info(msg string, args ...any) { c.Log.Info(c.prefix+msg, args...) }

// WarnLoss logs a message loss, rate-limited together with the losses the
// Core reports itself.
func (c *Core) WarnLoss(msg string, args ...any) {
	c.lossLog.Warn(c.Log, c.prefix+msg, args...)
}

// BeginRun marks the receive loop as running; it reports false if it
// already is (the adapter returns its ErrRunning). Call EndRun when the
// loop returns.
func (c *Core) BeginRun() bool { return c.running.CompareAndSwap(false, true) }

// EndRun marks the receive loop as stopped.
func (c *Core) EndRun() { c.running.Store(false) }

// Encode numbers m in the sender's sequence for key and returns its wire
// encoding. m.FromNode defaults to this node.
func (c *Core) Encode(key string, m *phx.Envelope) []byte {
	from := m.FromNode
	if from == "" {
		from = c.cfg.Node
	}
	w := wire.Message{From: from, To: m.ToNode, Topic: m.Topic, Event: m.Event, Payload: m.Payload, Binary: m.Binary}
	w.Epoch, w.Seq = c.seq.Next(key)
	return wire.Append(make([]byte, 0, wire.Size(&w)), &w)
}

// Published records the outcome of sending m: it counts a success, or
// counts, logs (rate-limited) and returns a failure, wrapped.
func (c *Core) Published(m *phx.Envelope, err error) error {
	if err != nil {
		c.stats.publishErrors.Add(1)
		c.pubLog.Warn(c.Log, c.prefix+"publish failed; the message is lost", "topic", m.Topic, "event", m.Event, "error", err)
		return c.Errorf("publish %q: %w", m.Topic, err)
	}
	c.stats.published.Add(1)
	return nil
}

// Deliver decodes a message received on key and hands it to deliver unless
// it is this node's own or addressed to another node. Messages of an
// unknown encoding version and undecodable ones are counted, logged
// (rate-limited) and dropped; gaps in the sender's sequence are counted as
// lost.
func (c *Core) Deliver(key string, data []byte, deliver func(*phx.Envelope)) {
	w, err := wire.Decode(data)
	if err != nil {
		if errors.Is(err, wire.ErrUnknownVersion) {
			c.stats.unknownVersion.Add(1)
		} else {
			c.stats.malformed.Add(1)
		}
		c.decodeLog.Warn(c.Log, c.prefix+"message dropped", c.cfg.Key, key, "error", err)
		return
	}
	node := c.cfg.Node
	if w.From == node {
		return
	}
	// A direct message for another node (on a shared key, in Bus mode)
	// still takes its place in the sender's sequence: it is no gap.
	if d := c.tracker.Observe(key, w.From, w.Epoch, w.Seq); d != 0 {
		c.stats.lost.Add(d)
		if d > 0 {
			c.WarnLoss("messages from another node were lost", "from", w.From, c.cfg.Key, key, "lost", d)
		}
	}
	if w.To != "" && w.To != node {
		return
	}
	c.stats.received.Add(1)
	deliver(&phx.Envelope{FromNode: w.From, ToNode: w.To, Topic: w.Topic, Event: w.Event, Payload: w.Payload, Binary: w.Binary})
}

// Set records whether key is wanted (Subscribe: on, Unsubscribe: off).
// When that changes it calls apply(on) with SubMu held for the adapter to
// change its broker subscription; if apply reports false (the adapter
// could not record the subscription, so that a retry must try again) the
// change is not recorded. After an off change it forgets the key's loss
// tracking. Set reports whether the change was recorded; repeating a call
// changes nothing, so Subscribe and Unsubscribe are idempotent.
func (c *Core) Set(key string, on bool, apply func(on bool) bool) bool {
	c.SubMu.Lock()
	_, was := c.interest[key]
	changed := was != on && apply(on)
	if changed {
		if on {
			c.interest[key] = struct{}{}
		} else {
			delete(c.interest, key)
		}
		c.topics.Store(int64(len(c.interest)))
	}
	c.SubMu.Unlock()
	if changed && !on {
		c.tracker.Forget(key)
	}
	return changed
}

// Wanted appends to dst the wanted keys. Callers hold SubMu.
func (c *Core) Wanted(dst []string) []string {
	for key := range c.interest {
		dst = append(dst, key)
	}
	return dst
}

// Outage is what happened between a Disconnected and a Reconnected call.
type Outage struct {
	// Duration is the time since Disconnected.
	Duration time.Duration
	// Published and PublishErrors count the publishes since Disconnected.
	Published, PublishErrors uint64
}

// Disconnected counts a loss of the connection and starts an Outage.
func (c *Core) Disconnected() {
	c.outageMu.Lock()
	defer c.outageMu.Unlock()
	c.stats.disconnects.Add(1)
	c.outageStart = time.Now()
	c.outagePubs = c.stats.published.Load()
	c.outagePubErrs = c.stats.publishErrors.Load()
}

// Reconnected counts a recovery and returns the Outage it ends.
func (c *Core) Reconnected() Outage {
	c.outageMu.Lock()
	defer c.outageMu.Unlock()
	c.stats.reconnects.Add(1)
	return Outage{
		Duration:      time.Since(c.outageStart).Round(time.Millisecond),
		Published:     c.stats.published.Load() - c.outagePubs,
		PublishErrors: c.stats.publishErrors.Load() - c.outagePubErrs,
	}
}

// Stats returns a snapshot of the counters; connected is the adapter's
// view of its connection.
func (c *Core) Stats(connected bool) Stats {
	return Stats{
		Published:      c.stats.published.Load(),
		PublishErrors:  c.stats.publishErrors.Load(),
		Received:       c.stats.received.Load(),
		Lost:           uint64(max(0, c.stats.lost.Load())),
		UnknownVersion: c.stats.unknownVersion.Load(),
		Malformed:      c.stats.malformed.Load(),
		Disconnects:    c.stats.disconnects.Load(),
		Reconnects:     c.stats.reconnects.Load(),
		Connected:      connected,
		Topics:         int(c.topics.Load()),
	}
}
