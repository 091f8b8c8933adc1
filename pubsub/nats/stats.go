package nats

// Stats are a PubSub's counters since New. NATS core delivers at most once,
// so messages can be lost while a node is disconnected or when its receive
// buffer overflows; these counters say how many.
type Stats struct {
	// Published counts messages handed to NATS (including those buffered
	// during a reconnection); PublishErrors counts Publish calls that failed
	// (each also returned its error to the caller: the message is lost).
	Published, PublishErrors uint64
	// Received counts messages from other nodes handed to the endpoint.
	Received uint64
	// Lost counts messages from other nodes that never arrived: gaps in the
	// senders' sequence numbers, seen when a later message of the same
	// sender arrives on the same subject (buffer overflows included).
	Lost uint64
	// UnknownVersion counts messages dropped because they carry an encoding
	// version this node does not know; Malformed counts undecodable ones.
	UnknownVersion, Malformed uint64
	// Disconnects and Reconnects count connection losses and recoveries
	// (owned connection only).
	Disconnects, Reconnects uint64
	// Connected tells whether the connection is up now.
	Connected bool
	// Topics is how many topics this node is subscribed to (Topics mode).
	Topics int
}

// Stats returns a snapshot of the counters.
func (p *PubSub) Stats() Stats {
	return Stats(p.core.Stats(p.nc.IsConnected()))
}
