package livestate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/seance-go/seance/diff"
	"github.com/seance-go/seance/phx"
)

// Options configures the LiveState channels made by [New]. Zero fields take
// the defaults.
type Options struct {
	// MaxVersion is the highest version before it wraps to 0 (default 1000,
	// as live_state).
	MaxVersion int
	// Messages names the events and shapes the payloads (default
	// LiveStateDialect()).
	Messages MessageBuilder
	// Differ computes patches between the last state sent and the next one
	// (default diff.Default()). A differ implementing diff.BytesDiffer (as
	// the default does) is given the two JSON texts; any other gets decoded
	// trees, which costs a decode of the state per update. States that
	// record their own patches ([PatchRecorder], [Doc]) are not diffed.
	// With the default differ (and without CompactWire), a state of a
	// plain struct type (encoded fields of booleans, numbers, strings or
	// plain structs, no custom marshalling, no embedded fields, no tag
	// option but omitempty) is diffed field by field against a copy of
	// the state last sent, without encoding it: the same patches, less
	// CPU.
	Differ diff.Differ
	// CompactWire trades live_state's exact wire for fewer bytes. By
	// default (false) the wire is live_state's: every callback that handled
	// an event or a message is followed by a state:patch with the next
	// version, even when the patch is empty ([]) or larger than the state,
	// so phx-live-state's livestate-patch listeners see every update and a
	// lost update shows as a version gap (the client then asks for
	// lvs_refresh). With CompactWire a callback that leaves the state
	// unchanged sends nothing and keeps the version, and an update whose
	// patch would not be smaller than the state goes out whole as a
	// state:change (phx-live-state applies it, but dispatches no
	// livestate-patch for it).
	CompactWire bool

	// ResumeGrace is how long a channel whose connection dropped (not a
	// leave) is kept — its state, version and the channel value with its
	// server-only fields — for the same client to rejoin the topic and
	// continue without Init: it then receives the kept state at its version
	// (a state:change) and later patches continue the sequence. The same
	// client is the same identity from the connect hook, the same topic and
	// the same client id connect param ([ClientIDParam]), when sent; with
	// neither an identity nor a client id nothing is kept. A rejoin with a
	// client id also takes over the channel of a connection the server
	// still holds open (it has not noticed the drop yet), which is closed
	// (phx_close). The rejoin's params are not used. When the period
	// ends the close hook runs with [ErrResumeExpired]. Default 30 s; a
	// negative value turns resuming off (the close hook then runs at the
	// disconnect, as without it).
	ResumeGrace time.Duration
	// MaxKept bounds the channels of this kind kept at once on this node
	// (default 10,000): past it the oldest is dropped early (its close hook
	// gets [ErrResumeExpired]).
	MaxKept int
	// MaxKeptBytes bounds the bytes of the JSON states of the kept channels
	// (default 64 MiB): past it the oldest are dropped early; a state larger
	// than the bound is not kept.
	MaxKeptBytes int64
	// IdentityKey maps the connect hook's identity to the comparable value
	// a rejoin must match (a user id); ok false means channels of that
	// identity are not kept. By default the identity itself, or what it
	// points to, when it is comparable (a string, a number, a struct of
	// such); a map or slice identity has no key.
	IdentityKey func(identity any) (key any, ok bool)
}

// defaults fills in the zero fields of o.
func (o *Options) defaults() {
	if o.MaxVersion <= 0 {
		o.MaxVersion = 1000
	}
	if o.Messages == nil {
		o.Messages = LiveStateDialect()
	}
	if o.Differ == nil {
		o.Differ = diff.Default()
	}
	if o.ResumeGrace == 0 {
		o.ResumeGrace = 30 * time.Second
	}
	if o.MaxKept <= 0 {
		o.MaxKept = 10_000
	}
	if o.MaxKeptBytes <= 0 {
		o.MaxKeptBytes = 64 << 20
	}
	if o.IdentityKey == nil {
		o.IdentityKey = defaultIdentityKey
	}
}

// New returns the phx.Handler of a LiveState channel kind; newChannel makes
// the per-join value. Register it with [Registry.Handle].
func New[S any](newChannel func() Channel[S], opts Options) phx.Handler {
	opts.defaults()
	h := &stateHandler[S]{newChannel: newChannel, opts: opts}
	h.kept.grace, h.kept.maxCount, h.kept.maxBytes = opts.ResumeGrace, opts.MaxKept, opts.MaxKeptBytes
	return h
}

type stateHandler[S any] struct {
	newChannel func() Channel[S]
	opts       Options
	kept       keeper[S] // channels waiting for their client to rejoin
	live       liveSet[S]
}

type stateKey struct{}

// conn is the per-join state of a LiveState channel.
type conn[S any] struct {
	impl   Channel[S]
	sock   Socket
	params phx.Payload

	ready   bool // Init succeeded
	resumed bool // taken from the keeper by this join: AfterJoin skips Init
	key     resumeKey
	keyed   bool          // key is set: the channel can be resumed
	waitFor chan struct{} // a live channel of the same client hands over: wait, then take it
	handoff chan struct{} // set (under live.mu) when a rejoin takes this channel over
	state   S
	sync    syncer[S]
}

func (h *stateHandler[S]) conn(ch *phx.Channel) *conn[S] {
	c, _ := ch.Value(stateKey{}).(*conn[S])
	return c
}

// Join implements phx.Handler.
func (h *stateHandler[S]) Join(ctx context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
	c := &conn[S]{impl: h.newChannel(), sock: Socket{ch: ch}, sync: newSyncer[S](&h.opts)}
	if params.Data != nil {
		c.params = phx.Payload{Data: bytes.Clone(params.Data), Binary: params.Binary}
	}
	if a, ok := c.impl.(Authorizer); ok {
		if err := a.Authorize(ctx, &c.sock, c.params); err != nil {
			return nil, err
		}
	}
	if key, ok := h.resumeKeyOf(ch); ok {
		c.key, c.keyed = key, true
		if kept := h.kept.take(key); kept != nil {
			kept.sock.moveTo(ch)
			kept.resumed = true
			c = kept
		} else if key.clientID != "" {
			// The client's previous connection may still be open on the
			// server (half-open TCP, not yet timed out): that channel is
			// closed and kept, and this one continues it in AfterJoin.
			// Only with a client id: without one, a second tab of the same
			// identity would take the first one's channel.
			c.waitFor = h.live.takeOver(key, ch)
		}
	}
	ch.Set(stateKey{}, c)
	return nil, nil
}

// handoffWait bounds how long a rejoin waits for the channel it takes over
// to finish its queued work; past it the rejoin runs Init.
const handoffWait = 5 * time.Second

// AfterJoin implements phx.AfterJoiner: it runs Init.
func (h *stateHandler[S]) AfterJoin(ctx context.Context, ch *phx.Channel) error {
	c := h.conn(ch)
	if c.waitFor != nil {
		t := time.NewTimer(handoffWait)
		select {
		case <-c.waitFor:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		c.waitFor = nil
		if kept := h.kept.take(c.key); kept != nil {
			kept.sock.moveTo(ch)
			ch.Set(stateKey{}, kept)
			c = kept
			c.resumed = true
		}
	}
	if c.resumed {
		c.resumed = false
		h.live.add(c)
		return h.resume(ctx, c)
	}
	c.sock.begin(phx.Ref{}, false)
	state, err := c.impl.Init(ctx, &c.sock, c.params)
	if err != nil {
		h.flushEmits(c)
		h.pushError(c, err)
		return nil
	}
	c.state = state
	data, err := c.sync.start(&c.state)
	if err != nil {
		h.flushEmits(c)
		h.pushError(c, fmt.Errorf("livestate: encoding the state: %w", err))
		return nil
	}
	c.ready = true
	h.live.add(c)
	h.flushEmits(c)
	ev, payload := h.opts.Messages.Change(data, 0)
	observeState(ch.Endpoint(), ch.Pattern(), true, len(payload))
	err = ch.PushEncoded(ev, payload) // keeps no reference to data
	c.sync.idle()
	return err
}

// HandleInValue is HandleIn with the message by value: the channel calls
// it instead, so that no message is allocated per client event.
func (h *stateHandler[S]) HandleInValue(ctx context.Context, ch *phx.Channel, msg phx.Message) (*phx.Reply, error) {
	return h.HandleIn(ctx, ch, &msg)
}

// HandleIn implements phx.InHandler.
func (h *stateHandler[S]) HandleIn(ctx context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
	c := h.conn(ch)
	name, payload, kind := h.opts.Messages.ClientEvent(msg.Event, msg.Payload)
	switch kind {
	case EventRefresh:
		if c.ready {
			data, err := c.sync.full(&c.state)
			if err != nil {
				return nil, err
			}
			ev, payload := h.opts.Messages.Change(data, c.sync.version)
			observeState(ch.Endpoint(), ch.Pattern(), true, len(payload))
			return nil, ch.PushEncoded(ev, payload)
		}
		return phx.Err(map[string]string{"reason": "no state"}), nil
	case EventOther:
		return phx.Err(map[string]string{"reason": "unknown event " + msg.Event}), nil
	}
	if !c.ready {
		return phx.Err(map[string]string{"reason": "no state"}), nil
	}
	c.sock.begin(msg.Ref, true)
	err := c.impl.HandleEvent(ctx, &c.sock, name, payload, &c.state)
	h.finish(c, err)
	if c.sock.reply != nil {
		return c.sock.reply, nil
	}
	if err != nil {
		return phx.Err(map[string]string{"reason": err.Error()}), nil
	}
	return nil, nil
}

// HandleInfo implements phx.InfoHandler (Send and extra subscriptions).
func (h *stateHandler[S]) HandleInfo(ctx context.Context, ch *phx.Channel, msg any) error {
	return h.message(ctx, ch, msg)
}

// HandleOut implements phx.OutHandler (broadcasts on the channel's topic).
func (h *stateHandler[S]) HandleOut(ctx context.Context, ch *phx.Channel, b *phx.Broadcast) error {
	return h.message(ctx, ch, b)
}

func (h *stateHandler[S]) message(ctx context.Context, ch *phx.Channel, msg any) error {
	c := h.conn(ch)
	mh, ok := c.impl.(MessageHandler[S])
	if !ok || !c.ready {
		return nil
	}
	c.sock.begin(phx.Ref{}, false)
	err := mh.HandleMessage(ctx, &c.sock, msg, &c.state)
	h.finish(c, err)
	return nil
}

// Terminate implements phx.Terminator.
func (h *stateHandler[S]) Terminate(ctx context.Context, ch *phx.Channel, reason error) {
	c := h.conn(ch)
	if c == nil {
		return
	}
	if done := h.live.remove(c); done != nil {
		// Taken over by a rejoin of the same client: kept for it.
		kept := h.park(ch, c, reason, true)
		close(done)
		if kept {
			return
		}
	} else if h.park(ch, c, reason, false) {
		return
	}
	if cl, ok := c.impl.(Closer); ok {
		c.sock.begin(phx.Ref{}, false)
		cl.Closed(ctx, &c.sock, reason)
	}
}

// resume continues a kept channel on a new connection: the kept state at
// its version, then what the channel's Resumer changes.
func (h *stateHandler[S]) resume(ctx context.Context, c *conn[S]) error {
	data, err := c.sync.full(&c.state)
	if err != nil {
		h.pushError(c, fmt.Errorf("livestate: encoding the state: %w", err))
		return nil
	}
	ev, payload := h.opts.Messages.Change(data, c.sync.version)
	observeState(c.sock.ch.Endpoint(), c.sock.ch.Pattern(), true, len(payload))
	if err := c.sock.ch.PushEncoded(ev, payload); err != nil {
		return err
	}
	if r, ok := c.impl.(Resumer[S]); ok {
		c.sock.begin(phx.Ref{}, false)
		err := r.Resumed(ctx, &c.sock, &c.state)
		h.finish(c, err)
	}
	return nil
}

// finish sends what a callback produced: emitted events, the error, then
// the state update.
func (h *stateHandler[S]) finish(c *conn[S], cbErr error) {
	h.flushEmits(c)
	if cbErr != nil {
		h.pushError(c, cbErr)
	}
	// A patch's payload may be written into a pooled buffer: PushEncoded
	// copies it into the frame and keeps nothing.
	box := getBox()
	ev, payload, inBox, err := c.sync.updateAfter(&c.state, cbErr, *box)
	defer func() {
		if inBox {
			putBox(box, payload)
		} else {
			bufPool.Put(box)
		}
	}()
	if err != nil {
		c.sock.ch.Logger().Error("livestate: state not synced", "error", err)
		h.pushError(c, errors.New("state could not be encoded"))
		return
	}
	if ev == "" {
		return
	}
	observeState(c.sock.ch.Endpoint(), c.sock.ch.Pattern(), c.sync.wasWhole, len(payload))
	if err := c.sock.ch.PushEncoded(ev, payload); err != nil {
		if clientGone(err) {
			// An ordinary disconnect racing the update: nobody to tell.
			c.sock.ch.Logger().Debug("livestate: state update not sent, the client is gone", "error", err)
			return
		}
		c.sock.ch.Logger().Error("livestate: state not synced", "error", err)
	}
}

// emitLevel is the level of a failed push: Debug when the client is gone,
// Warn otherwise.
func emitLevel(err error) slog.Level {
	if clientGone(err) {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}

// clientGone reports whether a push failed only because the client left
// or its connection ended (a slow consumer is logged where it is cut off).
func clientGone(err error) bool {
	return errors.Is(err, phx.ErrChannelClosed) || errors.Is(err, phx.ErrDisconnected) ||
		errors.Is(err, phx.ErrSlowConsumer) || errors.Is(err, phx.ErrNotJoined)
}

func (h *stateHandler[S]) flushEmits(c *conn[S]) {
	c.sock.flushEmits(h.opts.Messages)
}

// flushEmits pushes the events emitted by the current callback to the
// socket's client.
func (s *Socket) flushEmits(msgs MessageBuilder) {
	for _, e := range s.emits {
		ev, payload := msgs.Emit(e.name, e.detail)
		if err := s.ch.Push(ev, payload); err != nil {
			s.ch.Logger().Log(context.Background(), emitLevel(err), "livestate: emitted event not sent", "event", e.name, "error", err)
		}
	}
	s.emits = s.emits[:0]
}

func (h *stateHandler[S]) pushError(c *conn[S], err error) {
	ev, payload := h.opts.Messages.Error(err)
	c.sock.ch.Push(ev, payload)
}

func (s *Socket) begin(ref phx.Ref, inEvent bool) {
	s.ref, s.inEvent, s.replied, s.reply = ref, inEvent, false, nil
	s.emits = s.emits[:0]
}
