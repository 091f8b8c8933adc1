package history

import (
	"encoding/json"
	"sync"

	"github.com/seance-go/seance/client"
	"github.com/seance-go/seance/internal/streampos"
)

// Wire names of the server's history package.
const (
	recoverParam  = "recover"
	positionEvent = "phx_position"
)

// Position is a place in a topic's stream: an offset in an epoch.
type Position struct {
	Epoch  string `json:"epoch"`
	Offset uint64 `json:"offset"`
}

// Stream is a channel of a tracked topic that follows its stream position
// and, on every rejoin (after a reconnect), asks the server for what it
// missed. Its methods are safe for concurrent use.
type Stream struct {
	ch *client.Channel

	mu     sync.Mutex
	pos    Position
	has    bool
	params map[string]any
	onRec  []func(recovered bool)
}

// New returns a Stream for topic on s; params is the join payload, to which
// the last position is added as "recover" when there is one. Register
// callbacks on Channel(), then join it.
func New(s *client.Socket, topic string, params map[string]any) *Stream {
	st := &Stream{params: params}
	st.ch = s.Channel(topic, func() any { return st.joinParams() })
	st.ch.On("", st.track) // first: the position moves before other callbacks run
	return st
}

// Channel returns the underlying channel.
func (st *Stream) Channel() *client.Channel { return st.ch }

// Position returns the position of the last message received, and whether
// one is known (after the first join).
func (st *Stream) Position() (Position, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.pos, st.has
}

// OnRecovery calls fn after each rejoin that asked to recover: true when
// the messages that follow are all that was missed, false when the server
// could not tell (its history no longer covers the gap): what the client
// shows should then be reloaded.
func (st *Stream) OnRecovery(fn func(recovered bool)) {
	st.mu.Lock()
	st.onRec = append(st.onRec, fn)
	st.mu.Unlock()
}

func (st *Stream) joinParams() any {
	st.mu.Lock()
	defer st.mu.Unlock()
	p := make(map[string]any, len(st.params)+1)
	for k, v := range st.params {
		p[k] = v
	}
	if st.has {
		p[recoverParam] = st.pos
	}
	return p
}

// track follows the position: the server's phx_position after a join, and
// the "epoch:offset" ref of every message.
func (st *Stream) track(m client.Message) {
	switch m.Event {
	case positionEvent:
		var p struct {
			Position
			Recovered *bool `json:"recovered"`
		}
		if m.Decode(&p) != nil {
			return
		}
		st.mu.Lock()
		if p.Recovered == nil || !*p.Recovered {
			// A fresh start, or a gap that cannot be filled: continue from
			// the stream's current position.
			st.pos, st.has = p.Position, true
		}
		fns := append([]func(bool){}, st.onRec...)
		st.mu.Unlock()
		if p.Recovered != nil {
			for _, fn := range fns {
				fn(*p.Recovered)
			}
		}
	case "phx_reply", "phx_error", "phx_close":
	default:
		pos, ok := parsePosition(m.Ref)
		if !ok {
			return
		}
		st.mu.Lock()
		// A message of another epoch: the stream was lost and started
		// again (or the server could not tell the position).
		if st.has && (pos.Epoch != st.pos.Epoch || pos.Offset > st.pos.Offset) {
			st.pos = pos
		}
		st.mu.Unlock()
	}
}

func parsePosition(ref string) (Position, bool) {
	epoch, off, ok := streampos.Parse(ref)
	return Position{Epoch: epoch, Offset: off}, ok
}

// String returns the position as JSON.
func (p Position) String() string {
	b, _ := json.Marshal(p)
	return string(b)
}
