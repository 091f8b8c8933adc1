package client

// Heartbeats (phoenix-channels.md §4): WebSocket only, every
// Options.HeartbeatInterval; a heartbeat still unanswered at the next tick
// drops the connection, which then reconnects like any other loss.

func (s *Socket) scheduleHeartbeat() {
	gen := s.gen
	s.hbTimer = s.afterFunc(s.opts.HeartbeatInterval, func() { s.heartbeat(gen) })
}

// heartbeat runs on every tick: it drops the connection when the previous
// heartbeat is still unanswered, else sends a new one.
func (s *Socket) heartbeat(gen uint64) {
	if gen != s.gen || s.state != sockOpen {
		return
	}
	s.hbTimer = nil
	if s.hbRef != "" {
		s.log.Debug("phoenix client: heartbeat timeout")
		s.dropConn(ErrHeartbeatTimeout)
		return
	}
	s.hbRef = s.makeRef()
	s.write(&frame{ref: s.hbRef, topic: topicPhoenix, event: eventHeartbeat, payload: []byte("{}")})
	s.scheduleHeartbeat()
}
