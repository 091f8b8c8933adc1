package main

import (
	"context"
	"fmt"
	"regexp"
	"sync"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// Counters keeps named counters; implementations must be safe for
// concurrent use.
type Counters interface {
	Get(ctx context.Context, name string) (int64, error)
	// Add adds delta and returns the new count.
	Add(ctx context.Context, name string, delta int64) (int64, error)
	Reset(ctx context.Context, name string) error
}

// MemoryCounters is the in-memory Counters. The zero value is ready to use.
type MemoryCounters struct {
	mu     sync.Mutex
	counts map[string]int64
}

// Get implements Counters.
func (m *MemoryCounters) Get(_ context.Context, name string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counts[name], nil
}

// Add implements Counters.
func (m *MemoryCounters) Add(_ context.Context, name string, delta int64) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.counts == nil {
		m.counts = make(map[string]int64)
	}
	n := m.counts[name] + delta
	if n > maxCount || n < -maxCount {
		return m.counts[name], &inputError{fmt.Sprintf("the count must stay between %d and %d", -maxCount, maxCount)}
	}
	m.counts[name] = n
	return n, nil
}

// Reset implements Counters.
func (m *MemoryCounters) Reset(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.counts, name)
	return nil
}

const (
	maxCount = 1_000_000_000
	maxStep  = 1000
)

type inputError struct{ msg string }

func (e *inputError) Error() string { return e.msg }

var counterName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func checkName(name string) error {
	if !counterName.MatchString(name) {
		return &inputError{fmt.Sprintf("bad counter name %q: use 1 to 64 letters, digits, - or _", name)}
	}
	return nil
}

// CounterState is the state synced to the clients of counter:<name>.
type CounterState struct {
	Count int64 `json:"count"`
}

// changedEvent is broadcast on counter:<name> after each change; every
// channel of that counter then reloads it.
const changedEvent = "changed"

// counterChannel is one client's LiveState channel on a counter.
type counterChannel struct {
	counters Counters
	name     string
}

// Authorize refuses topics that do not name a valid counter.
func (c *counterChannel) Authorize(_ context.Context, s *livestate.Socket, _ phx.Payload) error {
	c.name = s.TopicParam()
	return checkName(c.name)
}

// Init loads the count.
func (c *counterChannel) Init(ctx context.Context, _ *livestate.Socket, _ phx.Payload) (CounterState, error) {
	n, err := c.counters.Get(ctx, c.name)
	return CounterState{Count: n}, err
}

// HandleEvent runs increment {"by"?}, decrement {"by"?} and reset {}.
func (c *counterChannel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, payload phx.Payload, st *CounterState) error {
	var p struct {
		By *int64 `json:"by"`
	}
	if err := payload.Decode(&p); err != nil {
		return &inputError{`"by" must be a whole number`}
	}
	by := int64(1)
	if p.By != nil {
		by = *p.By
	}
	if by < 1 || by > maxStep {
		return &inputError{fmt.Sprintf(`"by" must be between 1 and %d`, maxStep)}
	}
	var err error
	switch event {
	case "increment":
		st.Count, err = c.counters.Add(ctx, c.name, by)
	case "decrement":
		st.Count, err = c.counters.Add(ctx, c.name, -by)
	case "reset":
		st.Count, err = 0, c.counters.Reset(ctx, c.name)
	default:
		return &inputError{fmt.Sprintf("unknown event %q", event)}
	}
	if err != nil {
		return err
	}
	// Every channel of this counter (this one too) reloads on "changed".
	return s.Broadcast(ctx, s.Topic(), changedEvent, nil)
}

// HandleMessage reloads the count after a change by another client.
func (c *counterChannel) HandleMessage(ctx context.Context, _ *livestate.Socket, msg any, st *CounterState) error {
	if b, ok := msg.(*phx.Broadcast); ok && b.Event == changedEvent {
		n, err := c.counters.Get(ctx, c.name)
		if err != nil {
			return err
		}
		st.Count = n
	}
	return nil
}
