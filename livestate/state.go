package livestate

import (
	"bytes"
	"context"
	"errors"
	"fmt"

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
	Differ diff.Differ
}

// New returns the phx.Handler of a LiveState channel kind; newChannel makes
// the per-join value. Register it with [Registry.Handle].
func New[S any](newChannel func() Channel[S], opts Options) phx.Handler {
	if opts.MaxVersion <= 0 {
		opts.MaxVersion = 1000
	}
	if opts.Messages == nil {
		opts.Messages = LiveStateDialect()
	}
	if opts.Differ == nil {
		opts.Differ = diff.Default()
	}
	return &stateHandler[S]{newChannel: newChannel, opts: opts}
}

type stateHandler[S any] struct {
	newChannel func() Channel[S]
	opts       Options
}

type stateKey struct{}

// conn is the per-join state of a LiveState channel.
type conn[S any] struct {
	impl   Channel[S]
	sock   Socket
	params phx.Payload

	ready bool // Init succeeded
	state S
	sync  syncer[S]
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
	ch.Set(stateKey{}, c)
	return nil, nil
}

// AfterJoin implements phx.AfterJoiner: it runs Init.
func (h *stateHandler[S]) AfterJoin(ctx context.Context, ch *phx.Channel) error {
	c := h.conn(ch)
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
	h.flushEmits(c)
	ev, payload := h.opts.Messages.Change(data, 0)
	return ch.PushEncoded(ev, payload)
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
	if cl, ok := c.impl.(Closer); ok {
		c.sock.begin(phx.Ref{}, false)
		cl.Closed(ctx, &c.sock, reason)
	}
}

// finish sends what a callback produced: emitted events, the error, then
// the state update.
func (h *stateHandler[S]) finish(c *conn[S], cbErr error) {
	h.flushEmits(c)
	if cbErr != nil {
		h.pushError(c, cbErr)
	}
	if err := h.sync(c); err != nil {
		c.sock.ch.Endpoint().Logger().Error("livestate: state not synced", "topic", c.sock.Topic(), "error", err)
		h.pushError(c, errors.New("state could not be encoded"))
	}
}

func (h *stateHandler[S]) flushEmits(c *conn[S]) {
	for _, e := range c.sock.emits {
		ev, payload := h.opts.Messages.Emit(e.name, e.detail)
		if err := c.sock.ch.Push(ev, payload); err != nil {
			c.sock.ch.Endpoint().Logger().Warn("livestate: emitted event not sent", "topic", c.sock.Topic(), "event", e.name, "error", err)
		}
	}
	c.sock.emits = c.sock.emits[:0]
}

func (h *stateHandler[S]) pushError(c *conn[S], err error) {
	ev, payload := h.opts.Messages.Error(err)
	c.sock.ch.Push(ev, payload)
}

// sync sends the change made by the last callback, if any.
func (h *stateHandler[S]) sync(c *conn[S]) error {
	ev, payload, err := c.sync.update(&c.state)
	if err != nil || ev == "" {
		return err
	}
	return c.sock.ch.PushEncoded(ev, payload)
}

func (s *Socket) begin(ref phx.Ref, inEvent bool) {
	s.ref, s.inEvent, s.replied, s.reply = ref, inEvent, false, nil
	s.emits = s.emits[:0]
}
