package redis

import (
	"sync"
	"sync/atomic"
	"time"
)

// Stats are a PubSub's counters since New. Redis pub/sub delivers at most
// once and keeps nothing for a disconnected subscriber, so messages can be
// lost while Redis or the connection to it is down; these counters say how
// many.
type Stats struct {
	// Published counts messages sent; PublishErrors counts Publish calls
	// that failed (each also returned its error to the caller: the message
	// is lost).
	Published, PublishErrors uint64
	// Received counts messages from other nodes handed to the endpoint.
	Received uint64
	// Lost counts messages from other nodes that never arrived: gaps in the
	// senders' sequence numbers, seen when a later message of the same
	// sender arrives on the same channel. It includes messages whose
	// publish failed on the sender, and those published while this node was
	// disconnected from Redis.
	Lost uint64
	// UnknownVersion counts messages dropped because they carry an encoding
	// version this node does not know (a newer node during a rolling
	// upgrade); Malformed counts undecodable ones.
	UnknownVersion, Malformed uint64
	// Disconnects counts losses of the receive connection; Reconnects counts
	// recoveries from them.
	Disconnects, Reconnects uint64
	// Connected tells whether the receive connection is up now.
	Connected bool
	// Topics is how many topics this node is subscribed to (Topics mode).
	Topics int
}

type counters struct {
	published, publishErrors, received atomic.Uint64
	unknownVersion, malformed          atomic.Uint64
	disconnects, reconnects            atomic.Uint64
	lost                               atomic.Int64
}

// Stats returns a snapshot of the counters.
func (p *PubSub) Stats() Stats {
	p.mu.Lock()
	connected := p.connected
	p.mu.Unlock()
	return Stats{
		Published:      p.stats.published.Load(),
		PublishErrors:  p.stats.publishErrors.Load(),
		Received:       p.stats.received.Load(),
		Lost:           uint64(max(0, p.stats.lost.Load())),
		UnknownVersion: p.stats.unknownVersion.Load(),
		Malformed:      p.stats.malformed.Load(),
		Disconnects:    p.stats.disconnects.Load(),
		Reconnects:     p.stats.reconnects.Load(),
		Connected:      connected,
		Topics:         int(p.topics.Load()),
	}
}

// limiter lets through one log line per interval and counts the rest.
type limiter struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

const logInterval = time.Second

// allow reports whether to log now, and how many calls were suppressed
// since the last line.
func (l *limiter) allow() (bool, int) {
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
