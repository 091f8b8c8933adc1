package cluster_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/seance-go/seance/cluster"
	"github.com/seance-go/seance/internal/membus"
	"github.com/seance-go/seance/phx"
	"go.uber.org/goleak"
)

// events records a membership's node events.
type events struct {
	mu  sync.Mutex
	evs []cluster.NodeEvent
	got chan struct{}
}

func (e *events) add(ev cluster.NodeEvent) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	e.mu.Unlock()
	select {
	case e.got <- struct{}{}:
	default:
	}
}

// wait waits until the events recorded are want.
func (e *events) wait(t *testing.T, want ...cluster.NodeEvent) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		e.mu.Lock()
		ok := slices.Equal(e.evs, want)
		got := slices.Clone(e.evs)
		e.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-e.got:
		case <-deadline:
			t.Fatalf("events %v, want %v", got, want)
		}
	}
}

type runningNode struct {
	m      *cluster.Membership
	ev     *events
	rx     chan *phx.Envelope // what the endpoint would receive
	cancel context.CancelFunc
	done   chan error
}

func run(t *testing.T, ps phx.PubSub) *runningNode {
	t.Helper()
	m := cluster.NewMembership(ps, cluster.MembershipOptions{
		Heartbeat: 20 * time.Millisecond, DownAfter: 150 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	n := &runningNode{m: m, ev: &events{got: make(chan struct{}, 1)}, rx: make(chan *phx.Envelope, 16), done: make(chan error, 1)}
	m.Register("test", &cluster.Service{Nodes: n.ev.add})
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() { n.done <- m.Run(ctx, func(e *phx.Envelope) { n.rx <- e }) }()
	t.Cleanup(n.stop)
	return n
}

func (n *runningNode) stop() {
	if n.cancel != nil {
		n.cancel()
		<-n.done
		n.cancel = nil
	}
}

func TestMembershipUpDownAndBack(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // registered first: runs after the nodes stop
	b := membus.New()
	psA, psB := b.Node("a"), b.Node("b")
	a, bn := run(t, psA), run(t, psB)
	a.ev.wait(t, cluster.NodeEvent{Node: "b", Up: true})
	bn.ev.wait(t, cluster.NodeEvent{Node: "a", Up: true})
	if got := a.m.Nodes(); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("Nodes() = %v", got)
	}

	// b goes silent: a declares it down; b hears it again: up.
	psB.Cut()
	a.ev.wait(t, cluster.NodeEvent{Node: "b", Up: true}, cluster.NodeEvent{Node: "b"})
	if a.m.Up("b") {
		t.Fatal("b still up")
	}
	psB.Restore()
	a.ev.wait(t, cluster.NodeEvent{Node: "b", Up: true}, cluster.NodeEvent{Node: "b"}, cluster.NodeEvent{Node: "b", Up: true})

	// b restarts (a new Membership, a new epoch) before a notices the
	// silence: down, then up.
	bn.stop()
	run(t, psB)
	a.ev.wait(t, cluster.NodeEvent{Node: "b", Up: true}, cluster.NodeEvent{Node: "b"}, cluster.NodeEvent{Node: "b", Up: true},
		cluster.NodeEvent{Node: "b"}, cluster.NodeEvent{Node: "b", Up: true})

	// Other messages reach the endpoint; the membership's own do not.
	if err := psA.Subscribe(context.Background(), "room:1"); err != nil {
		t.Fatal(err)
	}
	if err := psB.Publish(context.Background(), &phx.Envelope{FromNode: "b", Topic: "room:1", Event: "x"}); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-a.rx:
		if e.Topic != "room:1" {
			t.Fatalf("the endpoint received %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a broadcast did not reach the endpoint")
	}

	// Stopping declares every node down.
	a.stop()
	a.ev.wait(t, cluster.NodeEvent{Node: "b", Up: true}, cluster.NodeEvent{Node: "b"}, cluster.NodeEvent{Node: "b", Up: true},
		cluster.NodeEvent{Node: "b"}, cluster.NodeEvent{Node: "b", Up: true}, cluster.NodeEvent{Node: "b"})
}

func TestMembershipSendAndDigest(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // registered first: runs after the nodes stop
	b := membus.New()
	psA, psB := b.Node("a"), b.Node("b")
	got := make(chan string, 16)
	a := run(t, psA)
	bn := run(t, psB)
	a.m.Register("svc", &cluster.Service{
		Digest: func() json.RawMessage { return json.RawMessage(`{"v":7}`) },
	})
	bn.m.Register("svc", &cluster.Service{
		Heartbeat: func(from string, d json.RawMessage) {
			select {
			case got <- "hb " + from + " " + string(d):
			default:
			}
		},
		Receive: func(from, event string, payload []byte) { got <- "msg " + from + " " + event + " " + string(payload) },
	})
	await := func(want string) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case s := <-got:
				if s == want {
					return
				}
			case <-deadline:
				t.Fatalf("never got %q", want)
			}
		}
	}
	await(`hb a {"v":7}`)
	if err := a.m.Send(context.Background(), "b", "svc", "hello", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	await(`msg a hello {}`)
}
