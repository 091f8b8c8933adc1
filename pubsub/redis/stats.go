package redis

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

// Stats returns a snapshot of the counters.
func (p *PubSub) Stats() Stats {
	p.mu.Lock()
	connected := p.connected
	p.mu.Unlock()
	return Stats(p.core.Stats(connected))
}
