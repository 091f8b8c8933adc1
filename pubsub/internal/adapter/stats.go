package adapter

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Stats are an adapter's counters. The adapters' public Stats types have
// the same fields in the same order, so that they convert from it; their
// documentation says what each counter means for their broker.
type Stats struct {
	Published, PublishErrors  uint64
	Received                  uint64
	Lost                      uint64
	UnknownVersion, Malformed uint64
	Disconnects, Reconnects   uint64
	Connected                 bool
	Topics                    int
}

type counters struct {
	published, publishErrors, received atomic.Uint64
	unknownVersion, malformed          atomic.Uint64
	disconnects, reconnects            atomic.Uint64
	lost                               atomic.Int64
}

// Limiter lets through one log line per second and counts the rest. The
// zero value is ready to use.
type Limiter struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

const logInterval = time.Second

// Allow reports whether to log now, and how many calls were suppressed
// since the last line.
func (l *Limiter) Allow() (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < logInterval {
		l.suppressed++
		return false, 0
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return true, n
}

// Warn logs msg with args at warning level unless a line went out less
// than a second ago, adding "similar_suppressed": the lines held back.
func (l *Limiter) Warn(log *slog.Logger, msg string, args ...any) {
	if ok, n := l.Allow(); ok {
		log.Warn(msg, append(args, "similar_suppressed", n)...)
	}
}
