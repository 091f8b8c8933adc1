package clustertest

import (
	"encoding/json"
	"fmt"
	"testing"
)

// boardClient follows the shared counter of a board:* topic like
// phx-live-state: state:change sets count and version, state:patch must
// have the next version.
type boardClient struct {
	*Client
	name    string
	join    string
	count   int64
	version int
	changes int // state:change frames after the join
}

func joinBoard(t *testing.T, p *Proc, name, topic string) *boardClient {
	t.Helper()
	c := &boardClient{Client: Dial(t, p, name), name: name}
	c.join = c.Join(topic)
	c.changes = -1 // the join's own
	return c
}

// until reads the topic's state frames until the count is want, failing on
// a version gap within one owner's sequence.
func (c *boardClient) until(t *testing.T, topic string, want int64) {
	t.Helper()
	c.Expect(fmt.Sprintf("count %d", want), func(f Frame) bool {
		if f.Topic != topic {
			return false
		}
		change, version, count, ok := boardFrame(f, c.count)
		switch {
		case ok && change:
			c.count, c.version = count, version
			c.changes++
		case ok:
			if version != c.version+1 {
				t.Errorf("%s: version %d after %d", c.name, version, c.version)
			}
			c.count, c.version = count, version
		case f.Event == "error":
			t.Logf("%s: error event %s", c.name, f.Payload)
		}
		return c.count == want
	})
}

// boardFrame decodes a board's state:change or state:patch frame: whether
// it is a change, its version, and the count after it (prev when a patch
// leaves the count alone); ok is false for other events.
func boardFrame(f Frame, prev int64) (change bool, version int, count int64, ok bool) {
	switch f.Event {
	case "state:change":
		var p struct {
			State   struct{ Count int64 }
			Version int
		}
		_ = json.Unmarshal(f.Payload, &p)
		return true, p.Version, p.State.Count, true
	case "state:patch":
		var p struct {
			Patch []struct {
				Path  string
				Value int64
			}
			Version int
		}
		_ = json.Unmarshal(f.Payload, &p)
		count = prev
		for _, op := range p.Patch {
			if op.Path == "/count" || op.Path == "" {
				count = op.Value
			}
		}
		return false, p.Version, count, true
	}
	return false, 0, prev, false
}

// SharedBoard runs the shared-state scenario on three seance-node
// processes started with a lease TTL of about a second (procs[0] first):
// clients on every node join board:1 (procs[0]'s first: it owns the
// board), push events at once and all end with the same count and
// version, each having seen every version once; then procs[0] is
// SIGKILLed while its client pushes, and the clients of the other nodes
// get the new owner's state:change (Init again: count 0) and go on with
// one state. subscribed waits until n nodes are subscribed to topic in the
// broker.
func SharedBoard(t *testing.T, procs []*Proc, subscribed func(topic string, n int)) {
	t.Helper()
	const topic = "board:1"
	var cs []*boardClient
	for i, p := range procs { // procs[0] joins first: it owns the board
		c := joinBoard(t, p, fmt.Sprintf("c%d", i+1), topic)
		c.until(t, topic, 0)
		cs = append(cs, c)
	}
	subscribed(topic, 3)

	const k = 30
	for range k {
		for _, c := range cs {
			c.Push(c.join, topic, "lvs_evt:inc", map[string]any{})
		}
	}
	for _, c := range cs {
		c.until(t, topic, 3*k)
		if c.version != cs[0].version || c.changes != 0 {
			t.Errorf("%s: version %d (c1: %d), %d state:change after the join", c.name, c.version, cs[0].version, c.changes)
		}
	}

	// The owner dies mid-stream (its own client pushing).
	for range 20 {
		cs[0].Push(cs[0].join, topic, "lvs_evt:inc", map[string]any{})
	}
	procs[0].Kill()
	// The survivors' clients get the new owner's state (Init again: 0)
	// within the lease TTL and the watch interval, then go on with one
	// state.
	for _, c := range cs[1:] {
		changes := c.changes
		c.Expect("the new owner's state:change", func(f Frame) bool {
			if f.Topic != topic {
				return false
			}
			c.count, c.version = -1, -1
			if f.Event == "state:change" {
				var p struct {
					State   struct{ Count int64 }
					Version int
				}
				_ = json.Unmarshal(f.Payload, &p)
				c.count, c.version = p.State.Count, p.Version
				c.changes++
			}
			return c.changes > changes
		})
		if c.count != 0 {
			t.Errorf("%s: new owner's state count %d, want 0 (Init again)", c.name, c.count)
		}
	}
	c2, c3 := cs[1], cs[2]
	if c2.version != c3.version {
		t.Errorf("versions %d and %d after the takeover", c2.version, c3.version)
	}
	for range 3 {
		c2.Push(c2.join, topic, "lvs_evt:inc", map[string]any{})
		c3.Push(c3.join, topic, "lvs_evt:inc", map[string]any{})
	}
	c2.until(t, topic, 6)
	c3.until(t, topic, 6)
	if c2.version != c3.version {
		t.Errorf("versions %d and %d at the end", c2.version, c3.version)
	}
	procs[1].CheckAlive(t)
	procs[2].CheckAlive(t)
}
