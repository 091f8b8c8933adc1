// Package membus is an in-memory phx.PubSub for tests of several endpoints
// in one process: it honours Envelope.ToNode and per-topic interest, delivers
// on each node's own goroutine (as real adapters do) and can cut a node off
// the bus to play a dead node.
package membus

import (
	"bytes"
	"context"
	"sync"

	"github.com/seance-go/seance/phx"
)

// Bus connects nodes.
type Bus struct {
	mu    sync.Mutex
	nodes map[string]*Node
}

// New returns an empty bus.
func New() *Bus { return &Bus{nodes: map[string]*Node{}} }

// Node is one node's adapter.
type Node struct {
	bus  *Bus
	name string
	in   chan *phx.Envelope

	mu     sync.Mutex
	topics map[string]int
	cut    bool
	drop   func(*phx.Envelope) bool
}

// Node returns the adapter of a new node called name.
func (b *Bus) Node(name string) *Node {
	n := &Node{bus: b, name: name, in: make(chan *phx.Envelope, 1024), topics: map[string]int{}}
	b.mu.Lock()
	b.nodes[name] = n
	b.mu.Unlock()
	return n
}

// Cut takes the node off the bus: it neither sends nor receives any more.
func (n *Node) Cut() {
	n.mu.Lock()
	n.cut = true
	n.mu.Unlock()
}

// Restore puts a cut node back on the bus.
func (n *Node) Restore() {
	n.mu.Lock()
	n.cut = false
	n.mu.Unlock()
}

// Drop makes the node lose the messages it would receive for which f
// returns true, as a broker that delivers at most once may (nil: none).
func (n *Node) Drop(f func(*phx.Envelope) bool) {
	n.mu.Lock()
	n.drop = f
	n.mu.Unlock()
}

// NodeName implements phx.PubSub.
func (n *Node) NodeName() string { return n.name }

// Subscribe implements phx.PubSub (reference counted, like the adapters).
func (n *Node) Subscribe(ctx context.Context, topic string) error {
	n.mu.Lock()
	n.topics[topic]++
	n.mu.Unlock()
	return nil
}

// Unsubscribe implements phx.PubSub.
func (n *Node) Unsubscribe(ctx context.Context, topic string) error {
	n.mu.Lock()
	if n.topics[topic]--; n.topics[topic] <= 0 {
		delete(n.topics, topic)
	}
	n.mu.Unlock()
	return nil
}

// Subscribed reports whether the node declared interest in topic.
func (n *Node) Subscribed(topic string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.topics[topic] > 0
}

// Publish implements phx.PubSub. Messages to a full inbox are dropped.
func (n *Node) Publish(ctx context.Context, m *phx.Envelope) error {
	n.mu.Lock()
	cut := n.cut
	n.mu.Unlock()
	if cut {
		return nil
	}
	n.bus.mu.Lock()
	var to []*Node
	for _, o := range n.bus.nodes {
		if o == n {
			continue
		}
		o.mu.Lock()
		ok := !o.cut && (o.name == m.ToNode || m.ToNode == "" && o.topics[m.Topic] > 0) && (o.drop == nil || !o.drop(m))
		o.mu.Unlock()
		if ok {
			to = append(to, o)
		}
	}
	n.bus.mu.Unlock()
	for _, o := range to {
		c := *m
		c.Payload = bytes.Clone(m.Payload)
		select {
		case o.in <- &c:
		default:
		}
	}
	return nil
}

// Run implements phx.PubSub.
func (n *Node) Run(ctx context.Context, deliver func(*phx.Envelope)) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m := <-n.in:
			deliver(m)
		}
	}
}

// Lookup returns the node called name, or nil.
func (b *Bus) Lookup(name string) *Node {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.nodes[name]
}
