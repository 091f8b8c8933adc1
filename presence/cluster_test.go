package presence_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seance-go/seance/cluster"
	"github.com/seance-go/seance/internal/sessiontest"
	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/presence"
)

// memBus is an in-memory broker: every node has its own inbox drained by
// its Run loop; a cut node neither sends nor receives (a broker outage, or
// a node killed when it stays cut).
type memBus struct {
	mu        sync.Mutex
	nodes     map[string]*memPS
	snapshots atomic.Int64 // presence snapshot messages carried
}

type memPS struct {
	bus  *memBus
	name string
	in   chan *phx.Envelope
	cut  atomic.Bool
}

var errCut = errors.New("memBus: node cut off")

func (b *memBus) node(name string) *memPS {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.nodes == nil {
		b.nodes = map[string]*memPS{}
	}
	n := &memPS{bus: b, name: name, in: make(chan *phx.Envelope, 1<<14)}
	b.nodes[name] = n
	return n
}

func (n *memPS) NodeName() string                          { return n.name }
func (n *memPS) Subscribe(context.Context, string) error   { return nil }
func (n *memPS) Unsubscribe(context.Context, string) error { return nil }

func (n *memPS) Publish(_ context.Context, m *phx.Envelope) error {
	if n.cut.Load() {
		return errCut
	}
	if m.Event == "presence:snapshot" {
		n.bus.snapshots.Add(1)
	}
	n.bus.mu.Lock()
	defer n.bus.mu.Unlock()
	for name, o := range n.bus.nodes {
		if o == n || o.cut.Load() || (m.ToNode != "" && m.ToNode != name) {
			continue
		}
		c := *m
		c.Payload = bytes.Clone(m.Payload)
		select {
		case o.in <- &c:
		default: // a full inbox loses the message, as a broker may
		}
	}
	return nil
}

func (n *memPS) Run(ctx context.Context, deliver func(*phx.Envelope)) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m := <-n.in:
			if !n.cut.Load() {
				deliver(m)
			}
		}
	}
}

// clusterNode is one node: an endpoint whose PubSub is a Membership over
// the bus, its tracker, and one session holding channels that track
// themselves on "room:1" (TrackTopic) on demand.
type clusterNode struct {
	name string
	ps   *memPS
	ep   *phx.Endpoint
	tr   *presence.Tracker
	sess *sessiontest.Client
	chs  []*phx.Channel
	rnd  *rand.Rand
	keys map[*phx.Channel]string // tracked key per channel
}

const (
	testHeartbeat = 50 * time.Millisecond
	testDownAfter = 400 * time.Millisecond
)

func startNode(t *testing.T, bus *memBus, name string, channels int) *clusterNode {
	t.Helper()
	n := &clusterNode{name: name, ps: bus.node(name), rnd: rand.New(rand.NewPCG(uint64(len(name)), uint64(name[len(name)-1]))), keys: map[*phx.Channel]string{}}
	m := cluster.NewMembership(n.ps, cluster.MembershipOptions{Heartbeat: testHeartbeat, DownAfter: testDownAfter, Logger: quietLogger()})
	n.ep = phx.NewEndpoint(phx.Config{PubSub: m, Logger: quietLogger()})
	n.tr = presence.New(n.ep, presence.Options{Interval: 10 * time.Millisecond, Cluster: m, Logger: quietLogger()})
	joined := make(chan *phx.Channel, channels)
	n.ep.Handle("churn:*", phx.HandlerFuncs{JoinFunc: func(_ context.Context, ch *phx.Channel, _ phx.Payload) (any, error) {
		joined <- ch
		return nil, nil
	}})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- n.ep.Shutdown(ctx) }()
		n.sess.Sess.Detach()
		if err := <-done; err != nil {
			t.Errorf("%s: Shutdown: %v", name, err)
		}
		if err := n.tr.Close(ctx); err != nil {
			t.Errorf("%s: Close: %v", name, err)
		}
	})
	n.sess = sessiontest.Open(t, n.ep, phx.ConnectInfo{}, phx.V2JSON(), false)
	go func() { // nobody reads this session's frames: drain them
		for {
			if _, err := n.sess.Sess.Next(context.Background()); err != nil {
				return
			}
		}
	}()
	for i := range channels {
		n.sess.Send(fmt.Sprintf(`["%d","%d","churn:%d","phx_join",{}]`, i+1, i+1, i))
		n.chs = append(n.chs, <-joined)
	}
	return n
}

// churn makes ops random tracks, updates and untracks on "room:1".
func (n *clusterNode) churn(t *testing.T, ops int) {
	t.Helper()
	for range ops {
		ch := n.chs[n.rnd.IntN(len(n.chs))]
		key, tracked := n.keys[ch]
		switch {
		case !tracked:
			key = fmt.Sprintf("user%d", n.rnd.IntN(12))
			if _, err := n.tr.TrackTopic(ch, "room:1", key, map[string]string{"node": n.name}); err != nil {
				t.Fatalf("%s: track: %v", n.name, err)
			}
			n.keys[ch] = key
		case n.rnd.IntN(2) == 0:
			if _, err := n.tr.UpdateTopic(ch, "room:1", key, map[string]any{"node": n.name, "n": n.rnd.IntN(1000)}); err != nil {
				t.Fatalf("%s: update: %v", n.name, err)
			}
		default:
			if err := n.tr.UntrackTopic(ch, "room:1", key); err != nil {
				t.Fatalf("%s: untrack: %v", n.name, err)
			}
			delete(n.keys, ch)
		}
	}
}

// canon renders a list in a canonical form: keys sorted, metas by ref.
func canon(l presence.List) string {
	var lines []string
	for k, p := range l {
		for _, m := range p.Metas {
			lines = append(lines, k+" "+m.Ref+" "+m.PrevRef+" "+string(m.Data))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// ownedBy counts the metas tracked by node (meta {"node": name}).
func ownedBy(l presence.List, node string) int {
	n := 0
	for _, p := range l {
		for _, m := range p.Metas {
			if strings.Contains(string(m.Data), `"node":"`+node+`"`) {
				n++
			}
		}
	}
	return n
}

// converge waits until every node lists the same room:1.
func converge(t *testing.T, what string, nodes ...*clusterNode) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		first := canon(nodes[0].tr.List("room:1"))
		same := true
		for _, n := range nodes[1:] {
			if canon(n.tr.List("room:1")) != first {
				same = false
			}
		}
		if same {
			return first
		}
		if time.Now().After(deadline) {
			for _, n := range nodes {
				t.Logf("%s:\n%s", n.name, canon(n.tr.List("room:1")))
			}
			t.Fatalf("%s: the nodes' lists did not converge", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestClusterConverges(t *testing.T) {
	bus := &memBus{}
	a, b, c := startNode(t, bus, "a", 40), startNode(t, bus, "b", 40), startNode(t, bus, "c", 40)
	nodes := []*clusterNode{a, b, c}

	// Hundreds of tracks, updates and untracks across three nodes.
	for range 5 {
		for _, n := range nodes {
			n.churn(t, 60)
		}
		time.Sleep(5 * time.Millisecond)
	}
	list := converge(t, "after churn", a, b, c)
	if strings.Count(list, "\n") < 20 {
		t.Fatalf("too few entries to prove anything:\n%s", list)
	}

	// Quiet: the heartbeats carry versions, nobody asks for snapshots
	// (after those already asked for have gone out).
	time.Sleep(3 * testHeartbeat)
	before := bus.snapshots.Load()
	time.Sleep(10 * testHeartbeat)
	if n := bus.snapshots.Load() - before; n != 0 {
		t.Fatalf("%d snapshots sent while nothing changed", n)
	}

	// c is cut off (a broker outage for c, or c killed): its entries leave
	// a and b within DownAfter.
	c.ps.cut.Store(true)
	cutAt := time.Now()
	waitFor(t, "c's entries to leave a and b", func() bool {
		return ownedBy(a.tr.List("room:1"), "c") == 0 && ownedBy(b.tr.List("room:1"), "c") == 0
	})
	if took := time.Since(cutAt); took > testDownAfter+10*testHeartbeat {
		t.Errorf("c's entries left after %v, DownAfter is %v", took, testDownAfter)
	}
	converge(t, "a and b without c", a, b)

	// Changes on every side while cut, then the outage ends: all converge.
	for _, n := range nodes {
		n.churn(t, 40)
	}
	c.ps.cut.Store(false)
	converge(t, "after the outage", a, b, c)
	if ownedBy(a.tr.List("room:1"), "c") != len(c.keys) {
		t.Fatalf("a lists %d of c's entries, c tracks %d", ownedBy(a.tr.List("room:1"), "c"), len(c.keys))
	}
}
