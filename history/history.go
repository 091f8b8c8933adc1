package history

import (
	"container/list"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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

// Options bounds a [History]. Zero fields take the defaults.
type Options struct {
	// MaxEntries is how many messages each topic keeps (default 1,000).
	MaxEntries int
	// MaxAge is how long a message is kept (default 5 minutes).
	MaxAge time.Duration
	// MaxTopics bounds the topics with a stream (default 10,000): past it
	// the stream published to least recently is dropped (its clients can
	// no longer recover; later messages start a new epoch).
	MaxTopics int
}

func (o *Options) defaults() {
	if o.MaxEntries <= 0 {
		o.MaxEntries = 1000
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 5 * time.Minute
	}
	if o.MaxTopics <= 0 {
		o.MaxTopics = 10_000
	}
}

// History keeps a bounded, in-memory history of the messages published on
// the topics of the channels it wraps, and replays what a rejoining client
// missed. Its methods are safe for concurrent use.
type History struct {
	opts Options

	mu      sync.Mutex
	streams map[string]*list.Element // of *stream, by topic
	lru     list.List                // least recently published first
}

// New returns an empty History.
func New(opts Options) *History {
	opts.defaults()
	return &History{opts: opts, streams: map[string]*list.Element{}}
}

// stream is one topic's history and its subscribed channels. Publishing
// and joining take its lock, so that a joining client gets every message
// exactly once: from the history or live.
type stream struct {
	topic string
	epoch string

	mu      sync.Mutex
	top     uint64  // offset of the last message
	entries []entry // oldest first, offsets top-len+1 … top
	subs    map[*phx.Channel]*sub
	dropped bool // removed from the History: publish to a new stream
}

// sub is a channel attached to a stream. From its Join to its AfterJoin it
// is pending: messages are held for it, to follow the position event.
type sub struct {
	pending bool
	start   uint64    // the stream's top at the join
	recover *Position // the client's position, when it asked to recover
	held    []*phx.Prepared
}

type entry struct {
	at  time.Time
	msg *phx.Prepared
}

func newEpoch() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// stream returns topic's stream, creating it when create is set.
func (h *History) stream(topic string, create bool) *stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	if el, ok := h.streams[topic]; ok {
		h.lru.MoveToBack(el)
		return el.Value.(*stream)
	}
	if !create {
		return nil
	}
	if h.lru.Len() >= h.opts.MaxTopics {
		h.evictLocked()
	}
	s := &stream{topic: topic, epoch: newEpoch(), subs: map[*phx.Channel]*sub{}}
	h.streams[topic] = h.lru.PushBack(s)
	return s
}

// evictLocked drops the least recently used stream that no channel is
// attached to (streams with clients are never dropped: their number is
// bounded by the channels').
func (h *History) evictLocked() {
	for el := h.lru.Front(); el != nil; el = el.Next() {
		s := el.Value.(*stream)
		s.mu.Lock()
		idle := len(s.subs) == 0
		if idle {
			s.dropped = true
		}
		s.mu.Unlock()
		if idle {
			h.lru.Remove(el)
			delete(h.streams, s.topic)
			return
		}
	}
}

// Broadcast publishes event with payload on topic to the clients of the
// History's channels on it, and keeps it for those that come back. Each
// message carries its position as its ref (JSON payloads only: see
// [ErrBinary]). It returns the position.
// Messages published with phx.Endpoint.Broadcast on a tracked topic reach
// the clients too, but are not kept and carry no position.
func (h *History) Broadcast(ctx context.Context, topic, event string, payload any) (Position, error) {
	if err := ctx.Err(); err != nil {
		return Position{}, err
	}
	if _, ok := payload.(phx.Binary); ok {
		return Position{}, ErrBinary
	}
	for {
		s := h.stream(topic, true)
		s.mu.Lock()
		if s.dropped {
			s.mu.Unlock()
			continue
		}
		pos := Position{Epoch: s.epoch, Offset: s.top + 1}
		msg, err := phx.PrepareRef(topic, event, pos.String(), payload)
		if err != nil {
			s.mu.Unlock()
			return Position{}, err
		}
		now := time.Now()
		s.top++
		s.entries = append(s.entries, entry{at: now, msg: msg})
		s.prune(now, h.opts)
		for ch, sb := range s.subs {
			if sb.pending {
				sb.held = append(sb.held, msg)
				continue
			}
			ch.PushPrepared(msg) // fails only for a client going away
		}
		s.mu.Unlock()
		return pos, nil
	}
}

// prune drops the entries past the bounds.
func (s *stream) prune(now time.Time, o Options) {
	drop := 0
	if n := len(s.entries) - o.MaxEntries; n > 0 {
		drop = n
	}
	for drop < len(s.entries) && now.Sub(s.entries[drop].at) > o.MaxAge {
		drop++
	}
	if drop > 0 {
		clear(s.entries[:drop])
		s.entries = s.entries[drop:]
		if cap(s.entries) > 2*o.MaxEntries {
			s.entries = append([]entry(nil), s.entries...)
		}
	}
}

// since returns the entries after pos, oldest first, and whether they are
// all the messages published after it (false when the history no longer
// covers the gap, or pos is of another epoch).
func (s *stream) since(pos Position, o Options) ([]entry, bool) {
	s.prune(time.Now(), o)
	if pos.Epoch != s.epoch || pos.Offset > s.top {
		return nil, false
	}
	first := s.top - uint64(len(s.entries)) + 1 // offset of entries[0]
	if pos.Offset+1 < first {
		return nil, false
	}
	return s.entries[pos.Offset+1-first:], true
}

// Handler wraps a channel handler so that its topics are tracked: after the
// join reply the client receives [PositionEvent] and, when it rejoined with
// [RecoverParam], the messages it missed, in order, before any live one.
// Register it for the topic patterns that need recovery:
//
//	reg.Handle("room:*", hist.Handler(room))
//
// The inner handler sees the join params as the client sent them
// (RecoverParam included).
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
// attached to its stream, so that it misses nothing published after its
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

// AfterJoin implements phx.AfterJoiner: the position, the missed messages,
// then the inner AfterJoin.
func (t *tracked) AfterJoin(ctx context.Context, ch *phx.Channel) error {
	if err := t.h.attach(ch); err != nil {
		return err
	}
	if aj, ok := t.Handler.(phx.AfterJoiner); ok {
		return aj.AfterJoin(ctx, ch)
	}
	return nil
}

// register attaches ch to its topic's stream as pending.
func (h *History) register(ch *phx.Channel, recover *Position) {
	for {
		s := h.stream(ch.Topic(), true)
		s.mu.Lock()
		if s.dropped {
			// Dropped between the lookup and the lock: the next publish
			// goes to a new stream.
			s.mu.Unlock()
			continue
		}
		s.subs[ch] = &sub{pending: true, start: s.top, recover: recover}
		s.mu.Unlock()
		if !ch.OnEnd(func(error) { h.detach(s, ch) }) {
			h.detach(s, ch) // already ended
		}
		return
	}
}

// attach sends ch the position and what it missed, then what was published
// since its join, under the stream's lock: every later message goes out
// after them.
func (h *History) attach(ch *phx.Channel) error {
	s := h.stream(ch.Topic(), true)
	s.mu.Lock()
	defer s.mu.Unlock()
	sb := s.subs[ch]
	if sb == nil || !sb.pending {
		return nil // ended (or the stream was dropped, which needs no subscriber)
	}
	sb.pending = false
	held := sb.held
	sb.held = nil
	reply := map[string]any{"epoch": s.epoch, "offset": sb.start}
	if sb.recover != nil {
		missed, ok := s.since(*sb.recover, h.opts)
		reply["recovered"] = ok
		if ok {
			// The history holds what was held, and all before it.
			held = make([]*phx.Prepared, len(missed))
			for i, e := range missed {
				held[i] = e.msg
			}
			reply["offset"] = s.top
		}
	}
	if err := ch.Push(PositionEvent, reply); err != nil {
		return err
	}
	for _, m := range held {
		if err := ch.PushPrepared(m); err != nil {
			return err
		}
	}
	return nil
}

func (h *History) detach(s *stream, ch *phx.Channel) {
	s.mu.Lock()
	delete(s.subs, ch)
	s.mu.Unlock()
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
