package wire

import (
	"math/rand/v2"
	"sync"
)

// DefaultMaxKeys bounds the sequence counters a Sequencer or Tracker keeps.
const DefaultMaxKeys = 1 << 16

// Sequencer numbers a sender's messages per bus channel (key). Every
// process starts a fresh random epoch, so receivers can tell a restarted
// sender from lost messages. When more than MaxKeys keys are in use the
// counters are cleared and the epoch advances, which receivers treat as a
// restart. Safe for concurrent use.
type Sequencer struct {
	// MaxKeys bounds the counters (default DefaultMaxKeys).
	MaxKeys int

	mu    sync.Mutex
	epoch uint64
	seqs  map[string]uint64
}

// Next returns the epoch and the next sequence number (from 1) for key.
func (s *Sequencer) Next(key string) (epoch, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.epoch == 0 {
		s.epoch = rand.Uint64() | 1
	}
	max := s.MaxKeys
	if max <= 0 {
		max = DefaultMaxKeys
	}
	if s.seqs == nil {
		s.seqs = map[string]uint64{}
	}
	seq, ok := s.seqs[key]
	if !ok && len(s.seqs) >= max {
		clear(s.seqs)
		s.epoch++
	}
	seq++
	s.seqs[key] = seq
	return s.epoch, seq
}

// Tracker follows the sequence numbers a receiver sees per (key, sender)
// and reports gaps: messages the receiver should have seen and did not.
// Numbers may arrive out of order by up to 63 places (concurrent publishers
// on one node use several connections); a late arrival fills the gap it
// left. Safe for concurrent use.
type Tracker struct {
	// MaxKeys bounds the keys followed (default DefaultMaxKeys); past it
	// the tracker starts over, which can only under-count.
	MaxKeys int

	mu   sync.Mutex
	keys map[string]map[string]*window
}

type window struct {
	epoch uint64
	high  uint64 // highest sequence number seen
	seen  uint64 // bit i set: high-i was seen
}

// Observe records message (epoch, seq) from sender on key and returns the
// change in the number of missing messages: positive when seq skips ahead,
// -1 when a late message fills a gap, 0 otherwise. The first message of a
// sender (or of a new epoch) sets the baseline.
func (t *Tracker) Observe(key, sender string, epoch, seq uint64) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.keys == nil {
		t.keys = map[string]map[string]*window{}
	}
	max := t.MaxKeys
	if max <= 0 {
		max = DefaultMaxKeys
	}
	senders, ok := t.keys[key]
	if !ok {
		if len(t.keys) >= max {
			clear(t.keys)
		}
		senders = map[string]*window{}
		t.keys[key] = senders
	}
	w, ok := senders[sender]
	if !ok {
		if len(senders) >= max {
			clear(senders)
		}
		senders[sender] = &window{epoch: epoch, high: seq, seen: 1}
		return 0
	}
	return w.observe(epoch, seq)
}

func (w *window) observe(epoch, seq uint64) int64 {
	if epoch != w.epoch {
		*w = window{epoch: epoch, high: seq, seen: 1}
		return 0
	}
	if seq > w.high {
		d := seq - w.high
		if d >= 64 {
			w.seen = 1
		} else {
			w.seen = w.seen<<d | 1
		}
		w.high = seq
		return int64(d - 1)
	}
	off := w.high - seq
	if off >= 64 {
		return 0 // too late to tell from a duplicate; it stays counted
	}
	bit := uint64(1) << off
	if w.seen&bit != 0 {
		return 0 // duplicate
	}
	w.seen |= bit
	return -1
}

// Forget drops what is known about key (the receiver lost interest in it).
func (t *Tracker) Forget(key string) {
	t.mu.Lock()
	delete(t.keys, key)
	t.mu.Unlock()
}
