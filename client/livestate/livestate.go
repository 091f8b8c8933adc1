package livestate

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/seance-go/seance/client"
	"github.com/seance-go/seance/internal/jsonpatch"
)

// LiveState event names.
const (
	eventChange  = "state:change"
	eventPatch   = "state:patch"
	eventError   = "error"
	eventRefresh = "lvs_refresh"
	eventPrefix  = "lvs_evt:"
)

// Change is a new state of the mirror.
type Change struct {
	// State is a copy of the state as a decoded JSON tree: map[string]any,
	// []any, string, json.Number, bool or nil.
	State   any
	Version int
}

// Mirror keeps a local copy of one LiveState channel's state. Its methods
// are safe for concurrent use.
type Mirror struct {
	ch *client.Channel

	mu      sync.Mutex
	state   any
	version int
	has     bool // a state:change with a version was received
	subs    []*func(Change)
}

// New returns a Mirror for topic on s; params is the join payload (see
// client.Socket.Channel). Register callbacks, then call Join.
func New(s *client.Socket, topic string, params any) *Mirror {
	m := &Mirror{ch: s.Channel(topic, params)}
	m.ch.On(eventChange, m.onChange)
	m.ch.On(eventPatch, m.onPatch)
	return m
}

// Join joins the state topic and waits for the join reply; the state
// itself follows in a "state:change" push. See client.Channel.Join for the
// errors.
func (m *Mirror) Join(ctx context.Context) error {
	_, err := m.ch.Join(ctx)
	return err
}

// Leave leaves the channel.
func (m *Mirror) Leave(ctx context.Context) error { return m.ch.Leave(ctx) }

// Channel returns the underlying channel.
func (m *Mirror) Channel() *client.Channel { return m.ch }

// State returns a copy of the current state, or nil before the first
// "state:change".
func (m *Mirror) State() any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return jsonpatch.Clone(m.state)
}

// Version returns the current version and whether a versioned state has
// been received.
func (m *Mirror) Version() (int, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.version, m.has
}

// StateInto decodes the current state into v, like json.Unmarshal.
func (m *Mirror) StateInto(v any) error {
	m.mu.Lock()
	data, err := json.Marshal(m.state)
	m.mu.Unlock()
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// OnChange calls fn after every accepted "state:change" and every applied
// patch, on the socket's callback goroutine. The returned func removes it.
func (m *Mirror) OnChange(fn func(Change)) (off func()) {
	p := &fn
	m.mu.Lock()
	m.subs = append(m.subs, p)
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		for i, q := range m.subs {
			if q == p {
				m.subs = append(m.subs[:i:i], m.subs[i+1:]...)
				return
			}
		}
	}
}

// OnError calls fn with the payload of every "error" push (LiveState sends
// one when the channel's init fails, e.g. {"message":"…"}).
func (m *Mirror) OnError(fn func(payload json.RawMessage)) (off func()) {
	return m.On(eventError, fn)
}

// On calls fn with the payload of every push named event, such as the
// reply events a LiveState handler returns.
func (m *Mirror) On(event string, fn func(payload json.RawMessage)) (off func()) {
	return m.ch.On(event, func(msg client.Message) { fn(json.RawMessage(msg.Payload)) })
}

// PushEvent sends "lvs_evt:<name>" with payload (any JSON value). LiveState
// never replies to events; their effect arrives as a state update. The
// event is buffered while the channel is not joined. ctx is checked before
// sending.
func (m *Mirror) PushEvent(ctx context.Context, name string, payload any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return m.ch.Send(eventPrefix+name, payload)
}

func (m *Mirror) refresh() {
	_ = m.ch.Send(eventRefresh, map[string]any{})
}

func (m *Mirror) onChange(msg client.Message) {
	var p struct {
		State   json.RawMessage `json:"state"`
		Version *int            `json:"version"`
	}
	if msg.Decode(&p) != nil || len(p.State) == 0 {
		return
	}
	state, err := jsonpatch.Decode(p.State)
	if err != nil {
		return
	}
	m.mu.Lock()
	m.state = state
	m.has = p.Version != nil
	if m.has {
		m.version = *p.Version
	}
	m.mu.Unlock()
	m.notify()
}

func (m *Mirror) onPatch(msg client.Message) {
	var p struct {
		Patch   json.RawMessage `json:"patch"`
		Version *int            `json:"version"`
	}
	if err := msg.Decode(&p); err != nil || p.Version == nil {
		m.refresh()
		return
	}
	v := *p.Version
	m.mu.Lock()
	if !m.has || (v != m.version+1 && v != 0) {
		m.mu.Unlock()
		m.refresh()
		return
	}
	state, err := apply(m.state, p.Patch)
	if err != nil {
		m.mu.Unlock()
		m.refresh()
		return
	}
	m.state, m.version = state, v
	m.mu.Unlock()
	m.notify()
}

func apply(state any, raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, errors.New("livestate: patch missing")
	}
	ops, err := jsonpatch.Parse(raw)
	if err != nil {
		return nil, err
	}
	return jsonpatch.Apply(state, ops)
}

func (m *Mirror) notify() {
	m.mu.Lock()
	subs := append([]*func(Change){}, m.subs...)
	state, version := m.state, m.version
	m.mu.Unlock()
	for _, fn := range subs {
		(*fn)(Change{State: jsonpatch.Clone(state), Version: version})
	}
}
