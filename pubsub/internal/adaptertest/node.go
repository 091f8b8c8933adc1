// Package adaptertest is the test kit of Seance's PubSub adapters
// (pubsub/redis, pubsub/nats): [RunConformance] runs the behaviour every
// adapter must have against a real broker server, [StartServer] runs that
// server as a throwaway process, and [Node] and [WaitFor] help write the
// tests that are specific to one broker.
package adaptertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/pubsub/internal/adapter"
)

// Wait bounds every wait for a message or a state in the suite.
const Wait = 15 * time.Second

// Adapter is a PubSub adapter under test.
type Adapter interface {
	phx.PubSub
	Close() error
}

// WaitFor polls cond until it holds, failing the test after within.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Node is an adapter with its receive loop running; what it receives goes
// to Got.
type Node struct {
	Adapter
	// Got receives the delivered messages (1024 buffered).
	Got chan *phx.Envelope

	b *Broker
}

// Start returns a new adapter named node in mode, running until the end of
// the test, once it is connected.
func (b *Broker) Start(t *testing.T, node string, mode adapter.Mode) *Node {
	t.Helper()
	return b.Run(t, b.New(t, node, mode))
}

// Run runs the receive loop of a until the end of the test and returns
// once a is connected. At the end of the test Run must return
// context.Canceled and Close must succeed.
func (b *Broker) Run(t *testing.T, a Adapter) *Node {
	t.Helper()
	n := &Node{Adapter: a, Got: make(chan *phx.Envelope, 1024), b: b}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, func(e *phx.Envelope) { n.Got <- e }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
		if err := a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	WaitFor(t, Wait, "connected", func() bool { return n.Stats().Connected })
	return n
}

// Stats returns the node's counters.
func (n *Node) Stats() adapter.Stats { return n.b.Stats(n.Adapter) }

// Next returns the next message the node received, failing the test after
// Wait.
func (n *Node) Next(t *testing.T) *phx.Envelope {
	t.Helper()
	select {
	case e := <-n.Got:
		return e
	case <-time.After(Wait):
		t.Fatalf("%s: no message within %v", n.NodeName(), Wait)
		return nil
	}
}

// Send publishes a broadcast from the node, failing the test on error.
func (n *Node) Send(t *testing.T, topic, event, payload string) {
	t.Helper()
	err := n.Publish(context.Background(), &phx.Envelope{FromNode: n.NodeName(), Topic: topic, Event: event, Payload: []byte(payload)})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

// SendUntil publishes event on topic from n every 20ms until to receives
// it, failing the test after Wait. It waits out subscriptions still being
// re-established after a reconnection.
func (n *Node) SendUntil(t *testing.T, to *Node, topic, event string) {
	t.Helper()
	deadline := time.Now().Add(Wait)
	for {
		n.Send(t, topic, event, `{}`)
		select {
		case e := <-to.Got:
			if e.Topic == topic && e.Event == event {
				return
			}
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no broadcast on %q reached %s", topic, to.NodeName())
		}
	}
}
