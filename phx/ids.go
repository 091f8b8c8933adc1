package phx

import (
	"context"
	"sync"
)

// DisconnectEvent is the event that, broadcast to a socket id's topic, closes
// every connection with that id on every node (Phoenix's
// Endpoint.broadcast(id, "disconnect", %{})). See [ConnectInfo.ID].
const DisconnectEvent = "disconnect"

// idIndex maps socket ids ([ConnectInfo.ID]) to their open sessions, and
// keeps this node subscribed (through the PubSub adapter) to the topic of
// every id that has a local session, so that a "disconnect" broadcast from
// any node reaches them. The subscriptions are the broker's, as those of
// channel topics (ordered per topic, retried, never waited on): opening a
// session never waits on the adapter.
type idIndex struct {
	broker *broker // nil without PubSub
	mu     sync.Mutex
	ids    map[string]map[*Session]struct{}
}

func (x *idIndex) add(s *Session) {
	id := s.info.ID
	if id == "" {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ids == nil {
		x.ids = map[string]map[*Session]struct{}{}
	}
	set := x.ids[id]
	if set == nil {
		set = map[*Session]struct{}{}
		x.ids[id] = set
		if x.broker != nil {
			x.broker.setID(id, true) // under x.mu: the changes of an id in order
		}
	}
	set[s] = struct{}{}
}

func (x *idIndex) remove(s *Session) {
	id := s.info.ID
	if id == "" {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	set := x.ids[id]
	if _, ok := set[s]; !ok {
		return
	}
	delete(set, s)
	if len(set) == 0 {
		delete(x.ids, id)
		if x.broker != nil {
			x.broker.setID(id, false)
		}
	}
}

// sessions returns the open sessions with id.
func (x *idIndex) sessions(id string) []*Session {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make([]*Session, 0, len(x.ids[id]))
	for s := range x.ids[id] {
		out = append(out, s)
	}
	return out
}

// closeID closes the local sessions with socket id id, as Phoenix's socket
// does on a "disconnect" broadcast to its id: the connection ends
// ([ErrDisconnected], WebSocket close 1001; a long-poll session is gone and
// its next request gets 410) and the client reconnects. It returns how many
// sessions it closed.
func (e *Endpoint) closeID(id string) int {
	ss := e.ids.sessions(id)
	for _, s := range ss {
		s.Close(ErrDisconnected)
	}
	return len(ss)
}

// DisconnectID closes every connection whose connect hook set
// [ConnectInfo.ID] to id, on this node and, through the PubSub adapter, on
// every other node — on logout, a ban or a password change. It sends what
// Phoenix applications broadcast (event "disconnect" to the topic id,
// payload {}) and returns how many local connections it closed. The
// message for the other nodes goes through the same queue as
// [Endpoint.Broadcast] (in order with this node's broadcasts, never
// waiting on the adapter); the connections of other nodes close when it
// reaches them. An error ([ErrPublishQueueFull], ctx's) means it was not
// sent to them.
func (e *Endpoint) DisconnectID(ctx context.Context, id string) (int, error) {
	n := e.closeID(id)
	if e.broker != nil {
		env := &Envelope{FromNode: e.broker.ps.NodeName(), Topic: id, Event: DisconnectEvent, Payload: []byte("{}")}
		if err := e.broker.enqueue(ctx, env); err != nil {
			return n, err
		}
	}
	return n, nil
}

// Intercept hands every message from another node whose Envelope.Topic is
// topic to fn instead of the topic's local subscribers. It is the seam for
// node-to-node protocols (package cluster): addressed messages (ToNode) reach
// fn without any Subscribe; for messages to every node, the caller
// subscribes topic through the adapter itself. fn runs on the receive loop
// and must not block. Registering a topic twice replaces its function.
func (e *Endpoint) Intercept(topic string, fn func(*Envelope)) {
	e.taps.Store(topic, fn)
}

// intercepted delivers m to its topic's interceptor, if any.
func (e *Endpoint) intercepted(m *Envelope) bool {
	fn, ok := e.taps.Load(m.Topic)
	if !ok {
		return false
	}
	fn.(func(*Envelope))(m)
	return true
}
