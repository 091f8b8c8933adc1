package history

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/seance-go/seance/internal/streampos"
	"github.com/seance-go/seance/phx"
)

// RecoverParam is the join param a client rejoins with to recover what it
// missed: {"recover": {"epoch": "…", "offset": 41}}, the position of the
// last message it received.
const RecoverParam = "recover"

// PositionEvent is the event pushed right after every join of a tracked
// topic, before any message: {"epoch", "offset"} is the stream's position
// (the client's starting point), and "recovered" tells a client that asked
// to recover whether the messages that follow are all it missed (true) or
// whether the history no longer covers the gap (false: nothing is
// replayed, the client should reload what it shows).
const PositionEvent = "phx_position"

// Position is a place in a topic's stream: the offset of a message (1 for
// the first) in the stream's epoch. A stream that is started again (its
// history was dropped) gets a new epoch, so an offset is meaningful only
// with its epoch.
type Position struct {
	Epoch  string `json:"epoch"`
	Offset uint64 `json:"offset"`
}

// String returns the position as it is sent in a message's ref:
// "epoch:offset".
func (p Position) String() string { return p.Epoch + ":" + strconv.FormatUint(p.Offset, 10) }

// ParsePosition parses a message ref made by [Position.String].
func ParsePosition(ref string) (Position, bool) {
	epoch, off, ok := streampos.Parse(ref)
	return Position{Epoch: epoch, Offset: off}, ok
}

// ErrBinary is returned by [History.Broadcast] for a phx.Binary payload:
// Phoenix's binary push frame has no ref to carry the position.
var ErrBinary = errors.New("history: binary payloads cannot carry a position")

// Options configures a [History]. Zero fields take the defaults.
type Options struct {
	// Store keeps the streams (default: a [MemoryStore] bounded by
	// MaxEntries, MaxAge and MaxTopics, one node). With several nodes use
	// a Store in the broker (pubsub/redis.NewHistory,
	// pubsub/nats.NewHistory) and set Endpoint.
	Store Store
	// Endpoint, when set, carries each message of [History.Broadcast] to
	// every node through the endpoint's PubSub adapter, so that the
	// clients of a topic get it live whichever node they are connected to
	// and whichever node published it. The History then takes the
	// broadcasts of its topics on this node ([phx.Endpoint.Claim]) and
	// delivers them to its channels itself (an inner [phx.OutHandler] is
	// not called for them). Nil: messages reach this node's clients only.
	Endpoint *phx.Endpoint
	// MaxEntries, MaxAge and MaxTopics bound the default in-memory Store
	// (see [MemoryOptions]: 1,000 messages per topic, 5 minutes, 10,000
	// topics); they are ignored with Store set.
	MaxEntries int
	MaxAge     time.Duration
	MaxTopics  int
	// RecoverTimeout bounds each read of the Store for a channel: the
	// position or missed messages after a join, and the messages of a gap
	// in its live stream (default 5s). A read that fails or times out
	// gives the client {"recovered": false} (the read never blocks a
	// connection's reader).
	RecoverTimeout time.Duration
	// MaxHeld bounds the live messages held for a channel while such a
	// read is under way (default 1,000); past it they are dropped and read
	// back from the Store as a gap.
	MaxHeld int
	// Logger receives the Store's errors (default slog.Default()).
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.Store == nil {
		o.Store = NewMemoryStore(MemoryOptions{MaxEntries: o.MaxEntries, MaxAge: o.MaxAge, MaxTopics: o.MaxTopics})
	}
	if o.RecoverTimeout <= 0 {
		o.RecoverTimeout = 5 * time.Second
	}
	if o.MaxHeld <= 0 {
		o.MaxHeld = 1000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// History publishes messages with positions on the topics of the channels
// it wraps, and replays what a rejoining client missed from its [Store].
// Its methods are safe for concurrent use.
type History struct {
	opts Options

	mu     sync.Mutex
	topics map[string]*topic // this node's tracked topics with channels
}

// New returns a History.
func New(opts Options) *History {
	opts.defaults()
	return &History{opts: opts, topics: map[string]*topic{}}
}

// NewEpoch returns a new random epoch, for [Store] implementations.
func NewEpoch() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// topic is a tracked topic with channels on this node.
type topic struct {
	name    string
	release func() // the endpoint claim

	mu   sync.Mutex
	subs map[*phx.Channel]*sub
}

// sub is a channel of a tracked topic. Every message reaches it through
// offer, in order of offset and once: while a read of the Store is under
// way for it (busy) messages are held, then the read's messages go out
// first and the held ones after them, those already sent skipped.
type sub struct {
	ch      *phx.Channel
	ctx     context.Context // ends with the channel
	cancel  context.CancelFunc
	recover *Position // the client's position, when it asked to recover

	busy  bool     // a read is under way (the join's, until it is done; a gap's)
	known bool     // last is known
	last  Position // of the last message sent (or the client's start)
	held  []held   // live messages waiting for the read, at most MaxHeld
}

type held struct {
	pos Position
	msg *phx.Prepared
	at  time.Time // when it arrived
}

// wireEvent carries a message of [History.Broadcast] between nodes, on the
// topic itself (so it travels with the topic's subscription): its
// channels never see it (the History claims the topic). Applications must
// not broadcast it; a forged position ahead of the Store is dropped when
// the gap it opens is read (see fill).
const wireEvent = "seance:history"

type wireMsg struct {
	Ref     string          `json:"r"`
	Event   string          `json:"e"`
	Payload json.RawMessage `json:"p"`
}

// Broadcast appends a message to topic's stream in the Store (with a
// remote Store, one round trip to the broker: the caller's ctx bounds it)
// and publishes it, with its position as its ref, to the clients of the
// History's channels on topic: this node's, and with Options.Endpoint
// every node's (JSON payloads only: see [ErrBinary]). It returns the
// position. An error after the append (the endpoint's publish queue full)
// is returned with the position: the message is kept, and clients of other
// nodes get it when they next recover or fill a gap.
// Messages published with phx.Endpoint.Broadcast on a tracked topic reach
// the clients too, but are not kept and carry no position.
func (h *History) Broadcast(ctx context.Context, topic, event string, payload any) (Position, error) {
	if err := ctx.Err(); err != nil {
		return Position{}, err
	}
	if _, ok := payload.(phx.Binary); ok {
		return Position{}, ErrBinary
	}
	data, err := json.Marshal(payload)
	if err != nil {
		return Position{}, fmt.Errorf("history: encoding payload of %q: %w", event, err)
	}
	pos, err := h.opts.Store.Append(ctx, topic, event, data)
	if err != nil {
		return Position{}, err
	}
	if ep := h.opts.Endpoint; ep != nil {
		_, err := ep.Broadcast(ctx, topic, wireEvent, wireMsg{Ref: pos.String(), Event: event, Payload: data})
		return pos, err
	}
	msg, err := phx.PrepareRef(topic, event, pos.String(), json.RawMessage(data))
	if err != nil {
		return pos, err
	}
	h.deliver(topic, pos, msg)
	return pos, nil
}

// deliver offers a message to the channels of topic on this node.
func (h *History) deliver(name string, pos Position, msg *phx.Prepared) {
	h.mu.Lock()
	t := h.topics[name]
	h.mu.Unlock()
	if t != nil {
		t.offer(h, pos, msg)
	}
}

func (t *topic) offer(h *History, pos Position, msg *phx.Prepared) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, sb := range t.subs {
		h.offerLocked(t, sb, pos, msg)
	}
}

// claimed takes a broadcast on a tracked topic from the endpoint (from this
// node or another).
func (h *History) claimed(t *topic, b *phx.Broadcast) {
	if b.Event != wireEvent || b.Payload.Binary {
		// A broadcast without a position: straight to the channels.
		var payload any = json.RawMessage(b.Payload.Data)
		if b.Payload.Binary {
			payload = phx.Binary(b.Payload.Data)
		}
		msg, err := phx.Prepare(b.Topic, b.Event, payload)
		if err != nil {
			return
		}
		t.mu.Lock()
		for ch := range t.subs {
			_ = ch.PushPrepared(msg)
		}
		t.mu.Unlock()
		return
	}
	var w wireMsg
	if err := json.Unmarshal(b.Payload.Data, &w); err != nil {
		h.opts.Logger.Warn("history: malformed message from the endpoint", "topic", b.Topic, "error", err)
		return
	}
	pos, ok := ParsePosition(w.Ref)
	if !ok {
		return
	}
	msg, err := phx.PrepareRef(b.Topic, w.Event, w.Ref, w.Payload)
	if err != nil {
		return
	}
	t.offer(h, pos, msg)
}

// offerLocked sends sb a live message, or holds it while a read is under
// way; a gap in the offsets starts a read of the missing messages.
func (h *History) offerLocked(t *topic, sb *sub, pos Position, msg *phx.Prepared) {
	if sb.busy {
		sb.hold(pos, msg, h.opts.MaxHeld)
		return
	}
	if !sb.advance(pos, msg) {
		sb.busy = true
		sb.hold(pos, msg, h.opts.MaxHeld)
		go h.fill(t, sb)
	}
}

func (sb *sub) hold(pos Position, msg *phx.Prepared, max int) {
	if len(sb.held) < max {
		sb.held = append(sb.held, held{pos, msg, time.Now()})
	}
}

// advance sends the message unless it was already sent, and reports false,
// sending nothing, when it does not follow the last one sent (a gap).
func (sb *sub) advance(pos Position, msg *phx.Prepared) bool {
	if sb.known && pos.Epoch == sb.last.Epoch {
		if pos.Offset <= sb.last.Offset {
			return true // already sent
		}
		if pos.Offset != sb.last.Offset+1 {
			return false
		}
	}
	// Next in line, or the first known, or a new epoch (the stream was
	// lost: nothing before it can be read back).
	_ = sb.ch.PushPrepared(msg) // fails only for a client going away
	sb.last, sb.known = pos, true
	return true
}

// drainLocked sends what was held during a read; a gap among the held
// messages starts another read.
func (h *History) drainLocked(t *topic, sb *sub) {
	for i, m := range sb.held {
		if !sb.advance(m.pos, m.msg) {
			sb.held = append(sb.held[:0], sb.held[i:]...)
			go h.fill(t, sb)
			return
		}
	}
	sb.held, sb.busy = nil, false
}

// fill reads the messages of a gap in sb's live stream from the Store,
// sends them and what was held meanwhile. When the Store cannot fill it,
// the client is told {"recovered": false} with the position it goes on
// from.
func (h *History) fill(t *topic, sb *sub) {
	t.mu.Lock()
	from := sb.last
	t.mu.Unlock()
	readAt := time.Now()
	ctx, cancel := context.WithTimeout(sb.ctx, h.opts.RecoverTimeout)
	rec, err := bounded(ctx, func() (Recovery, error) { return h.opts.Store.Since(ctx, t.name, from) })
	cancel()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.subs[sb.ch] != sb {
		return // ended
	}
	if err != nil && sb.ctx.Err() == nil {
		h.opts.Logger.Warn("history: reading a gap failed", "topic", t.name, "error", err)
	}
	if err == nil && rec.Covered {
		h.sendEntries(t, sb, rec.Entries)
	}
	if err == nil {
		// Every held message was appended before the read: one the Store
		// does not have is forged (an application broadcasting wireEvent).
		kept := sb.held[:0]
		for _, m := range sb.held {
			if m.pos.Epoch == rec.Top.Epoch && m.pos.Offset > rec.Top.Offset && m.at.Before(readAt) {
				h.opts.Logger.Warn("history: dropped a message the store does not have", "topic", t.name, "position", m.pos.String())
				continue
			}
			kept = append(kept, m)
		}
		sb.held = kept
		if len(sb.held) == 0 {
			sb.busy = false
			return
		}
	}
	if next := sb.held[0].pos; next.Epoch == sb.last.Epoch && next.Offset > sb.last.Offset+1 {
		// Still a gap: the Store no longer has it. Go on from the first
		// held message.
		sb.last = Position{Epoch: next.Epoch, Offset: next.Offset - 1}
		_ = sb.ch.Push(PositionEvent, map[string]any{"epoch": sb.last.Epoch, "offset": sb.last.Offset, "recovered": false})
	}
	h.drainLocked(t, sb)
}

// sendEntries sends entries read from the Store.
func (h *History) sendEntries(t *topic, sb *sub, entries []Entry) {
	for _, e := range entries {
		msg, err := phx.PrepareRef(t.name, e.Event, e.Position.String(), e.Payload)
		if err != nil {
			continue
		}
		sb.advance(e.Position, msg)
	}
}

// Handler wraps a channel handler so that its topics are tracked: after the
// join reply the client receives [PositionEvent] and, when it rejoined with
// [RecoverParam], the messages it missed, in order, before any live one.
// Register it for the topic patterns that need recovery:
//
//	reg.Handle("room:*", hist.Handler(room))
//
// The inner handler sees the join params as the client sent them
// (RecoverParam included). The Store is read after the join, off the
// connection's reader: live messages published meanwhile are held for the
// channel (Options.MaxHeld) and follow the missed ones.
func (h *History) Handler(inner phx.Handler) phx.Handler {
	t := &tracked{h: h, Handler: inner}
	if _, ok := inner.(phx.OutHandler); ok {
		return trackedOut{t}
	}
	return t
}

// trackedOut is a tracked handler whose inner handler intercepts its
// topic's broadcasts.
type trackedOut struct{ *tracked }

// HandleOut implements phx.OutHandler.
func (t trackedOut) HandleOut(ctx context.Context, ch *phx.Channel, b *phx.Broadcast) error {
	return t.Handler.(phx.OutHandler).HandleOut(ctx, ch, b)
}

// tracked is the wrapped handler; it forwards every optional interface of
// the inner handler.
type tracked struct {
	h *History
	phx.Handler
}

// Join implements phx.Handler: the inner Join, then the channel is
// attached to its topic, so that it misses nothing published after its
// join reply.
func (t *tracked) Join(ctx context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
	resp, err := t.Handler.Join(ctx, ch, params)
	if err != nil {
		return resp, err
	}
	var p struct {
		Recover *Position `json:"recover"`
	}
	if params.Binary || len(params.Data) == 0 || params.Decode(&p) != nil {
		p.Recover = nil
	}
	t.h.register(ch, p.Recover)
	return resp, nil
}

// AfterJoin implements phx.AfterJoiner: the read of the position and the
// missed messages starts, then the inner AfterJoin runs.
func (t *tracked) AfterJoin(ctx context.Context, ch *phx.Channel) error {
	t.h.attach(ch)
	if aj, ok := t.Handler.(phx.AfterJoiner); ok {
		return aj.AfterJoin(ctx, ch)
	}
	return nil
}

// register attaches ch to its topic, holding its messages until attach.
func (h *History) register(ch *phx.Channel, recover *Position) {
	name := ch.Topic()
	ctx, cancel := context.WithCancel(context.Background())
	sb := &sub{ch: ch, ctx: ctx, cancel: cancel, recover: recover, busy: true}
	h.mu.Lock()
	t := h.topics[name]
	if t == nil {
		t = &topic{name: name, subs: map[*phx.Channel]*sub{}}
		if ep := h.opts.Endpoint; ep != nil {
			t.release = ep.Claim(name, func(b *phx.Broadcast) { h.claimed(t, b) })
		}
		h.topics[name] = t
	}
	t.mu.Lock()
	t.subs[ch] = sb
	t.mu.Unlock()
	h.mu.Unlock()
	if !ch.OnEnd(func(error) { h.detach(t, ch) }) {
		h.detach(t, ch) // already ended
	}
}

// attach starts the read of ch's position, or of what it missed, off the
// connection's path.
func (h *History) attach(ch *phx.Channel) {
	h.mu.Lock()
	t := h.topics[ch.Topic()]
	h.mu.Unlock()
	if t == nil {
		return
	}
	t.mu.Lock()
	sb := t.subs[ch]
	t.mu.Unlock()
	if sb != nil {
		go h.recover(t, sb)
	}
}

// recover sends the position event, the missed messages and what was held
// meanwhile.
func (h *History) recover(t *topic, sb *sub) {
	ctx, cancel := context.WithTimeout(sb.ctx, h.opts.RecoverTimeout)
	defer cancel()
	if ep := h.opts.Endpoint; ep != nil {
		// Read once this node hears the topic's broadcasts from the other
		// nodes: nothing published after the read can then be missed.
		waitSubscribed(ctx, ep, t.name)
	}
	var (
		rec Recovery
		err error
	)
	rec, err = bounded(ctx, func() (Recovery, error) {
		if sb.recover != nil {
			return h.opts.Store.Since(ctx, t.name, *sb.recover)
		}
		top, err := h.opts.Store.Current(ctx, t.name)
		return Recovery{Top: top}, err
	})
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.subs[sb.ch] != sb {
		return // ended
	}
	reply := map[string]any{"epoch": rec.Top.Epoch, "offset": rec.Top.Offset}
	switch {
	case err != nil:
		if sb.ctx.Err() == nil {
			h.opts.Logger.Warn("history: reading the stream failed", "topic", t.name, "error", err)
		}
		// Position unknown: the next message sets it.
		reply = map[string]any{"epoch": "", "offset": 0, "error": "history unavailable"}
	case sb.recover != nil && rec.Covered:
		sb.last, sb.known = *sb.recover, true
	default:
		// The client starts at the top, or before the first message held
		// for it: those were broadcast after its join, so it gets them
		// even if the read counted them in the top.
		start := rec.Top
		for _, m := range sb.held {
			if m.pos.Epoch == start.Epoch && m.pos.Offset <= start.Offset && m.pos.Offset > 0 {
				start.Offset = m.pos.Offset - 1
			}
		}
		sb.last, sb.known = start, true
		reply["offset"] = start.Offset
	}
	if sb.recover != nil {
		reply["recovered"] = err == nil && rec.Covered
	}
	if sb.ch.Push(PositionEvent, reply) != nil {
		return
	}
	if rec.Covered {
		h.sendEntries(t, sb, rec.Entries)
	}
	h.drainLocked(t, sb)
}

// bounded returns f's result, or ctx's error when ctx ends first: a Store
// whose client does not honour ctx (go-redis without
// ContextTimeoutEnabled) cannot hold a channel past RecoverTimeout. f then
// finishes on its own goroutine, bounded by the client's own timeouts.
func bounded(ctx context.Context, f func() (Recovery, error)) (Recovery, error) {
	type result struct {
		rec Recovery
		err error
	}
	done := make(chan result, 1)
	go func() {
		rec, err := f()
		done <- result{rec, err}
	}()
	select {
	case r := <-done:
		return r.rec, r.err
	case <-ctx.Done():
		return Recovery{}, ctx.Err()
	}
}

// waitSubscribed waits until ep hears topic from the other nodes, or ctx
// ends.
func waitSubscribed(ctx context.Context, ep *phx.Endpoint, topic string) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !ep.Subscribed(topic) {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (h *History) detach(t *topic, ch *phx.Channel) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t.mu.Lock()
	if sb := t.subs[ch]; sb != nil {
		sb.cancel()
		delete(t.subs, ch)
	}
	empty := len(t.subs) == 0
	t.mu.Unlock()
	if empty && h.topics[t.name] == t {
		delete(h.topics, t.name)
		if t.release != nil {
			t.release()
		}
	}
}

// HandleIn implements phx.InHandler when the inner handler does.
func (t *tracked) HandleIn(ctx context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
	if in, ok := t.Handler.(phx.InHandler); ok {
		return in.HandleIn(ctx, ch, msg)
	}
	return phx.Err(map[string]string{"reason": "unhandled event"}), nil // as the engine answers
}

// HandleInfo implements phx.InfoHandler.
func (t *tracked) HandleInfo(ctx context.Context, ch *phx.Channel, msg any) error {
	if in, ok := t.Handler.(phx.InfoHandler); ok {
		return in.HandleInfo(ctx, ch, msg)
	}
	return fmt.Errorf("history: unexpected message %T", msg)
}

// Terminate implements phx.Terminator.
func (t *tracked) Terminate(ctx context.Context, ch *phx.Channel, reason error) {
	if tm, ok := t.Handler.(phx.Terminator); ok {
		tm.Terminate(ctx, ch, reason)
	}
}
