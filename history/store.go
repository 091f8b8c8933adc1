package history

import (
	"container/list"
	"context"
	"encoding/json"
	"sync"
	"time"
)

// Store keeps the streams of the tracked topics: the messages published on
// each, with their positions, bounded by count and age. [New] uses an
// in-memory Store by default ([NewMemoryStore]: one node); the Redis and
// NATS adapters provide Stores in their brokers (pubsub/redis.NewHistory,
// pubsub/nats.NewHistory) so that any node of a cluster can serve a
// recovery.
//
// Offsets of one topic follow each other without gaps within an epoch: a
// Store that loses a stream (deleted, expired, evicted) must give the next
// message a new epoch, so that a position of the lost stream is never
// taken as covered. Methods are safe for concurrent use and must return
// soon after ctx ends.
type Store interface {
	// Append adds a message (payload is its JSON) to topic's stream and
	// returns its position.
	Append(ctx context.Context, topic, event string, payload []byte) (Position, error)
	// Since returns what topic's stream holds after pos: the messages,
	// oldest first, when they are all that was published after it
	// (Covered), and the stream's current position.
	Since(ctx context.Context, topic string, pos Position) (Recovery, error)
	// Current returns topic's current position: the last message's or,
	// for a topic without messages, a position from which Since returns
	// all of the topic's messages once there are some.
	Current(ctx context.Context, topic string) (Position, error)
}

// Entry is a message kept in a stream.
type Entry struct {
	Position
	Event   string
	Payload json.RawMessage // JSON
}

// Recovery is the answer of [Store.Since].
type Recovery struct {
	// Covered tells whether Entries are every message published after the
	// position asked for: false when the stream no longer holds them all
	// (trimmed by count or age) or the position is of another epoch, or
	// ahead of the stream.
	Covered bool
	// Entries are the messages after the position, oldest first (none
	// unless Covered).
	Entries []Entry
	// Top is the stream's current position.
	Top Position
}

// The retention every Store of this module takes by default, so that a
// topic keeps the same history whichever Store holds it: the in-memory
// one, and the Redis and NATS ones shared by the nodes of a cluster.
const (
	// DefaultMaxEntries is how many messages a topic keeps.
	DefaultMaxEntries = 1000
	// DefaultMaxAge is how long a message is kept.
	DefaultMaxAge = 5 * time.Minute
	// DefaultMetaTTL is how long a shared Store keeps what it knows of a
	// topic (its epoch and last offset) after the topic's last message.
	DefaultMetaTTL = 24 * time.Hour
)

// MemoryOptions bounds a [MemoryStore]. Zero fields take the defaults.
type MemoryOptions struct {
	// MaxEntries is how many messages each topic keeps (default 1,000).
	MaxEntries int
	// MaxAge is how long a message is kept (default 5 minutes).
	MaxAge time.Duration
	// MaxTopics bounds the topics with a stream (default 10,000): past it
	// the stream appended to least recently is dropped (its clients can no
	// longer recover; later messages start a new epoch).
	MaxTopics int
}

func (o *MemoryOptions) defaults() {
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.MaxTopics <= 0 {
		o.MaxTopics = 10_000
	}
}

// MemoryStore is the in-memory [Store] of one process: its streams are
// lost with it (a restarted node starts new epochs).
type MemoryStore struct {
	opts MemoryOptions

	mu      sync.Mutex
	streams map[string]*list.Element // of *memStream, by topic
	lru     list.List                // least recently used first
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore(opts MemoryOptions) *MemoryStore {
	opts.defaults()
	return &MemoryStore{opts: opts, streams: map[string]*list.Element{}}
}

type memStream struct {
	topic   string
	epoch   string
	top     uint64     // offset of the last message
	entries []memEntry // oldest first, offsets top-len+1 … top
}

type memEntry struct {
	at      time.Time
	event   string
	payload json.RawMessage
}

// streamLocked returns topic's stream, created when missing.
func (m *MemoryStore) streamLocked(topic string) *memStream {
	if el, ok := m.streams[topic]; ok {
		m.lru.MoveToBack(el)
		return el.Value.(*memStream)
	}
	if m.lru.Len() >= m.opts.MaxTopics {
		old := m.lru.Front()
		m.lru.Remove(old)
		delete(m.streams, old.Value.(*memStream).topic)
	}
	s := &memStream{topic: topic, epoch: NewEpoch()}
	m.streams[topic] = m.lru.PushBack(s)
	return s
}

// Append implements [Store].
func (m *MemoryStore) Append(ctx context.Context, topic, event string, payload []byte) (Position, error) {
	if err := ctx.Err(); err != nil {
		return Position{}, err
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.streamLocked(topic)
	s.top++
	s.entries = append(s.entries, memEntry{at: now, event: event, payload: payload})
	s.prune(now, m.opts)
	return Position{Epoch: s.epoch, Offset: s.top}, nil
}

// Since implements [Store].
func (m *MemoryStore) Since(ctx context.Context, topic string, pos Position) (Recovery, error) {
	if err := ctx.Err(); err != nil {
		return Recovery{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.streamLocked(topic)
	s.prune(time.Now(), m.opts)
	rec := Recovery{Top: Position{Epoch: s.epoch, Offset: s.top}}
	if pos.Epoch != s.epoch || pos.Offset > s.top {
		return rec, nil
	}
	first := s.top - uint64(len(s.entries)) + 1 // offset of entries[0]
	if pos.Offset+1 < first {
		return rec, nil
	}
	rec.Covered = true
	kept := s.entries[pos.Offset+1-first:]
	rec.Entries = make([]Entry, len(kept))
	for i, e := range kept {
		rec.Entries[i] = Entry{Position: Position{Epoch: s.epoch, Offset: pos.Offset + 1 + uint64(i)}, Event: e.event, Payload: e.payload}
	}
	return rec, nil
}

// Current implements [Store].
func (m *MemoryStore) Current(ctx context.Context, topic string) (Position, error) {
	if err := ctx.Err(); err != nil {
		return Position{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.streamLocked(topic)
	return Position{Epoch: s.epoch, Offset: s.top}, nil
}

// prune drops the entries past the bounds.
func (s *memStream) prune(now time.Time, o MemoryOptions) {
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
			s.entries = append([]memEntry(nil), s.entries...)
		}
	}
}
