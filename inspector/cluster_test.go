package inspector_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/seance-go/seance/cluster"
	"github.com/seance-go/seance/inspector"
	"github.com/seance-go/seance/phx"
)

// bus is an in-memory PubSub between nodes of one test.
type bus struct {
	mu    sync.Mutex
	nodes map[string]*busNode
}

type busNode struct {
	b       *bus
	name    string
	deliver func(*phx.Envelope) // set while Run runs; guarded by b.mu
}

func (b *bus) node(name string) *busNode {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.nodes == nil {
		b.nodes = map[string]*busNode{}
	}
	n := &busNode{b: b, name: name}
	b.nodes[name] = n
	return n
}

func (n *busNode) NodeName() string                          { return n.name }
func (n *busNode) Subscribe(context.Context, string) error   { return nil }
func (n *busNode) Unsubscribe(context.Context, string) error { return nil }

func (n *busNode) Publish(_ context.Context, m *phx.Envelope) error {
	n.b.mu.Lock()
	var to []func(*phx.Envelope)
	for name, o := range n.b.nodes {
		if name != n.name && o.deliver != nil && (m.ToNode == "" || m.ToNode == name) {
			to = append(to, o.deliver)
		}
	}
	n.b.mu.Unlock()
	for _, d := range to {
		c := *m
		d(&c)
	}
	return nil
}

func (n *busNode) Run(ctx context.Context, deliver func(*phx.Envelope)) error {
	n.b.mu.Lock()
	n.deliver = deliver
	n.b.mu.Unlock()
	<-ctx.Done()
	n.b.mu.Lock()
	n.deliver = nil
	n.b.mu.Unlock()
	return ctx.Err()
}

// TestClusterWideFigures: with a Membership, each node's inspector lists
// the other nodes' figures and topics, and forgets a node that went down.
func TestClusterWideFigures(t *testing.T) {
	b := &bus{}
	type node struct {
		ep *phx.Endpoint
		in *inspector.Inspector
	}
	start := func(name string) node {
		m := cluster.NewMembership(b.node(name), cluster.MembershipOptions{Heartbeat: 20 * time.Millisecond, DownAfter: 200 * time.Millisecond, Logger: quietLogger()})
		in := inspector.New(inspector.Options{Authorize: func(*http.Request) error { return nil }, Cluster: m, Engine: phx.Config{Logger: quietLogger()}})
		ep := phx.NewEndpoint(phx.Config{Logger: quietLogger(), PubSub: m, Observer: in.Observer()})
		in.Watch(ep)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			ep.Shutdown(ctx)
			in.Shutdown(ctx)
		})
		return node{ep, in}
	}
	a, bn := start("a"), start("b")
	bn.ep.Handle("room:*", phx.HandlerFuncs{})
	sess, err := bn.ep.Open(phx.ConnectInfo{Transport: "websocket"}, phx.V2JSON(), true)
	if err != nil {
		t.Fatal(err)
	}
	sess.Receive([]byte(`["1","1","room:1","phx_join",{}]`), false)
	// b's topic, in a's topics table.
	roomOnB := func() bool {
		for _, tp := range a.in.Figures().Topics {
			if tp.Name == "room:1" && tp.Pattern == "room:*" && tp.Subscribers == 1 && tp.Nodes["b"] == 1 {
				return true
			}
		}
		return false
	}
	remoteB := func() *inspector.Node {
		for _, n := range a.in.Figures().Nodes {
			if n.Name == "b" && n.Remote {
				return &n
			}
		}
		return nil
	}
	deadline := time.Now().Add(waitTimeout)
	for n := remoteB(); n == nil || n.Sessions != 1 || n.Connections["websocket"] != 1 || !roomOnB(); n = remoteB() {
		if time.Now().After(deadline) {
			t.Fatalf("a never saw b's connection and topic: %+v %+v", a.in.Figures().Nodes, a.in.Figures().Topics)
		}
		time.Sleep(5 * time.Millisecond)
	}
	sess.Detach()

	// b goes down: a forgets it.
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := bn.ep.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for remoteB() != nil {
		if ctx.Err() != nil {
			t.Fatal("a still lists b after it went down")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
