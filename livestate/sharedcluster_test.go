package livestate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seance-go/seance/cluster"
	"github.com/seance-go/seance/internal/membus"
	"github.com/seance-go/seance/internal/memlease"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// counter is a shared channel: "inc" adds one, a broadcast "add" adds its
// "n".
type counter struct{ inits sync.Map }

type count struct {
	N int `json:"n"`
}

func (c *counter) Init(ctx context.Context, topic string) (count, error) { return count{}, nil }

func (c *counter) HandleEvent(ctx context.Context, s *livestate.Socket, event string, p phx.Payload, st *count) error {
	switch event {
	case "inc":
		st.N++
	case "boom":
		st.N += 1000
		panic("boom")
	default:
		return fmt.Errorf("unknown event %s", event)
	}
	return nil
}

func (c *counter) HandleMessage(ctx context.Context, t *livestate.Topic, b *phx.Broadcast, st *count) error {
	var p struct{ N int }
	if err := json.Unmarshal(b.Payload.Data, &p); err != nil {
		return err
	}
	st.N += p.N
	return nil
}

// clusterNodes starts n registries on one in-memory bus sharing leaser.
func clusterNodes(t *testing.T, n int, leaser cluster.Leaser) (*membus.Bus, []*livestate.Registry) {
	t.Helper()
	bus, regs, _ := startNodes(t, n, func(_ int, c *livestate.Config) { c.SharedLeaser = leaser }, livestate.Options{})
	return bus, regs
}

// startNodes starts n registries on one in-memory bus, each serving
// count:* with a shared counter of opts, their configuration set by cfg
// (node i, from a common base), and returns them with their handlers.
func startNodes(tb testing.TB, n int, cfg func(i int, c *livestate.Config), opts livestate.Options) (*membus.Bus, []*livestate.Registry, []phx.Handler) {
	tb.Helper()
	bus := membus.New()
	var regs []*livestate.Registry
	var hs []phx.Handler
	for i := range n {
		c := livestate.Config{
			Engine:          phx.Config{Logger: quietLogger(), PubSub: bus.Node(fmt.Sprintf("node%d", i))},
			DisableLongPoll: true,
			Cluster:         cluster.Options{RelayTimeout: time.Second},
		}
		cfg(i, &c)
		reg := livestate.NewRegistry(c)
		h := livestate.NewShared[count](&counter{}, opts)
		reg.Handle("count:*", h)
		tb.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			reg.Shutdown(ctx)
		})
		regs, hs = append(regs, reg), append(hs, h)
	}
	return bus, regs, hs
}

// joinCount joins topic on reg and returns the client's mirror.
func joinCount(t *testing.T, reg *livestate.Registry, topic string) (*client, *mirror) {
	t.Helper()
	c := open(t, reg)
	c.send(`["1","1","` + topic + `","phx_join",{}]`)
	c.expect(`["1","1","` + topic + `","phx_reply",{"status":"ok","response":{}}]`)
	m := &mirror{t: t}
	m.change(c.expectEvent(topic, "state:change"))
	return c, m
}

func countOf(m *mirror) int {
	st, _ := m.state.(map[string]any)
	n, _ := st["n"].(float64)
	return int(n)
}

// TestSharedClusterOneState: clients of one shared topic on three nodes
// push events at once (and a broadcast comes from a node); the owner
// applies them in one order: every client sees every update once, with
// versions without gaps, and all end with the same state and version.
func TestSharedClusterOneState(t *testing.T) {
	_, regs := clusterNodes(t, 3, memlease.New(2*time.Second))
	var cs []*client
	var ms []*mirror
	for _, reg := range regs {
		c, m := joinCount(t, reg, "count:1")
		cs, ms = append(cs, c), append(ms, m)
	}
	for i, m := range ms {
		if m.version != ms[0].version || countOf(m) != 0 {
			t.Fatalf("client %d joined at version %d state %v", i, m.version, m.state)
		}
	}
	const k = 20
	for range k {
		for _, c := range cs {
			c.push("count:1", "lvs_evt:inc", `{}`)
		}
	}
	if _, err := regs[2].Broadcast(context.Background(), "count:1", "add", map[string]int{"n": 1000}); err != nil {
		t.Fatal(err)
	}
	want := 3*k + 1000
	for i, c := range cs {
		m := ms[i]
		for countOf(m) != want {
			v := m.version
			c.update(m, "count:1", lvsNames)
			if m.version != v+1 {
				t.Fatalf("client %d: version %d after %d", i, m.version, v)
			}
		}
		if m.version != ms[0].version {
			t.Errorf("client %d at version %d, client 0 at %d", i, m.version, ms[0].version)
		}
	}
	for _, c := range cs {
		c.expectNothing()
	}
	// A late joiner on a non-owner node gets the current state and version.
	_, late := joinCount(t, regs[1], "count:1")
	if countOf(late) != want || late.version != ms[0].version {
		t.Errorf("late joiner: version %d state %v, want %d at %d", late.version, late.state, want, ms[0].version)
	}
}

// TestSharedClusterTakeover: the owner dies (cut off the bus, its lease
// not renewed); another node takes over within the lease's TTL, its first
// act a state:change (Init again), and the clients of the other nodes go
// on with one state.
func TestSharedClusterTakeover(t *testing.T) {
	leaser := memlease.New(500 * time.Millisecond)
	bus, regs := clusterNodes(t, 3, leaser)
	// (From the owner's client: a forwarded event's answer could still be
	// on its way when the owner dies, and its sender would get an error.)
	cs := joinAndUpdate(t, regs)
	c1, m1, c2, m2 := cs[1].c, cs[1].m, cs[2].c, cs[2].m

	bus.Lookup("node0").Cut()
	leaser.Kill("node0")
	// The clients of the surviving nodes receive the new owner's state.
	expectUpdate(t, "state:change", 0, joined{c1, m1}, joined{c2, m2})
	if m1.version != 2 || m2.version != 2 {
		t.Fatalf("versions %d and %d after the takeover, want 2 (the version after the old owner's last)", m1.version, m2.version)
	}
	c2.push("count:1", "lvs_evt:inc", `{}`)
	c1.push("count:1", "lvs_evt:inc", `{}`)
	for i, x := range []struct {
		c *client
		m *mirror
	}{{c1, m1}, {c2, m2}} {
		for countOf(x.m) != 2 {
			v := x.m.version
			x.c.update(x.m, "count:1", lvsNames)
			if x.m.version != v+1 {
				t.Fatalf("client %d: version %d after %d", i+1, x.m.version, v)
			}
		}
	}
	if m1.version != m2.version {
		t.Errorf("versions %d and %d", m1.version, m2.version)
	}
}

// BenchmarkSharedClusterRoundTrip measures a client event's round trip
// (push lvs_evt:inc, receive its state:patch) for a client of the owner
// node and for a client of another node, whose event is forwarded to the
// owner and whose patch comes back over the PubSub (here the in-memory
// bus, so the ratio shows the cost of the forwarding itself, not of a
// network), and for a client of an owner that stores snapshots
// (Config.SharedSnapshots; owner-snapshots ÷ owner is their cost on the
// event's path):
//
//	go test -run x -bench SharedClusterRoundTrip ./livestate/
func BenchmarkSharedClusterRoundTrip(b *testing.B) {
	_, regs := clusterNodesB(b, 2, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	join := func(reg *livestate.Registry, topic string) *phx.Session {
		sess, err := reg.Endpoint().Open(phx.ConnectInfo{Transport: "test"}, phx.V2JSON(), true)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(sess.Detach)
		sess.Receive([]byte(`["1","1","`+topic+`","phx_join",{}]`), false)
		for got := 0; got < 2; { // reply, state:change
			fs, err := sess.Next(ctx)
			if err != nil {
				b.Fatal(err)
			}
			got += len(fs)
		}
		return sess
	}
	roundTrips := func(b *testing.B, sess *phx.Session, topic string) {
		frame := []byte(`["1","2","` + topic + `","lvs_evt:inc",{}]`)
		b.ResetTimer()
		for range b.N {
			sess.Receive(frame, false)
			for got := 0; got < 1; {
				fs, err := sess.Next(ctx)
				if err != nil {
					b.Fatal(err)
				}
				got += len(fs)
			}
		}
	}
	b.Run("owner", func(b *testing.B) {
		roundTrips(b, join(regs[0], "count:a"), "count:a")
	})
	// The owner storing a snapshot every 10 updates (in memory: the cost
	// of taking them, the store's own latency is off the event's path).
	_, snapRegs := clusterNodesB(b, 1, memlease.NewSnapshots())
	b.Run("owner-snapshots", func(b *testing.B) {
		roundTrips(b, join(snapRegs[0], "count:c"), "count:c")
	})
	b.Run("forwarded", func(b *testing.B) {
		owner := join(regs[0], "count:b") // node0 owns count:b
		go func() {                       // its client drains the updates
			for {
				if _, err := owner.Next(ctx); err != nil {
					return
				}
			}
		}()
		roundTrips(b, join(regs[1], "count:b"), "count:b")
	})
}

func clusterNodesB(b *testing.B, n int, snaps cluster.SnapshotStore) (*membus.Bus, []*livestate.Registry) {
	leaser := memlease.New(5 * time.Second)
	bus, regs, _ := startNodes(b, n, func(_ int, c *livestate.Config) {
		c.SharedLeaser, c.SharedSnapshots = leaser, snaps
		c.SharedSnapshot = livestate.SnapshotOptions{Every: 10}
	}, livestate.Options{MaxVersion: 1 << 30})
	return bus, regs
}

// TestSharedClusterRemotePanic: a HandleEvent that panics for a client of
// another node crashes nothing: the owner rolls the state back and logs,
// the sender gets an error reply, and the topic goes on.
func TestSharedClusterRemotePanic(t *testing.T) {
	_, regs := clusterNodes(t, 2, memlease.New(2*time.Second))
	c0, m0 := joinCount(t, regs[0], "count:1")
	c1, m1 := joinCount(t, regs[1], "count:1")
	ref := c1.push("count:1", "lvs_evt:boom", `{}`)
	c1.expectEvent("count:1", "error")
	c1.expect(`["1","` + ref + `","count:1","phx_reply",{"status":"error","response":{"reason":"owner unavailable"}}]`)
	c1.push("count:1", "lvs_evt:inc", `{}`)
	for i, x := range []struct {
		c *client
		m *mirror
	}{{c0, m0}, {c1, m1}} {
		x.c.update(x.m, "count:1", lvsNames)
		if countOf(x.m) != 1 || x.m.version != 1 {
			t.Errorf("client %d: count %d version %d, want 1 and 1", i, countOf(x.m), x.m.version)
		}
	}
}

// TestSharedClusterHandoff: when the owner's last client leaves, the owner
// releases the lease (after CloseTopic) and a node that still has clients
// takes over at once, long before the lease could expire: its clients get
// the new owner's state:change, and events go on.
func TestSharedClusterHandoff(t *testing.T) {
	_, regs := clusterNodes(t, 2, memlease.New(10*time.Second)) // watched every second
	c0, _ := joinCount(t, regs[0], "count:1")                   // node0 owns the topic
	c1, m1 := joinCount(t, regs[1], "count:1")
	c0.push("count:1", "phx_leave", `{}`)
	// Its state:change goes on from the old owner's version (0).
	if ev := c1.update(m1, "count:1", lvsNames); ev != "state:change" || countOf(m1) != 0 || m1.version != 1 {
		t.Fatalf("after the owner's last client left: %s %v at version %d", ev, m1.state, m1.version)
	}
	c1.push("count:1", "lvs_evt:inc", `{}`)
	c1.update(m1, "count:1", lvsNames)
	if countOf(m1) != 1 || m1.version != 2 {
		t.Errorf("count %d version %d, want 1 and 2", countOf(m1), m1.version)
	}
}

// follow reads c's frames until done holds, applying state updates to m
// like phx-live-state (a patch must carry the next version; a state:change
// is taken at any version) and recording the replies by ref. It returns
// how many state:change it read.
func follow(t *testing.T, c *client, m *mirror, topic string, replies map[string]map[string]any, done func() bool) (changes int) {
	t.Helper()
	for !done() {
		f := c.next()
		if f.Topic != topic {
			t.Fatalf("frame on %s", f.Topic)
		}
		p, _ := f.Payload.(map[string]any)
		switch f.Event {
		case "phx_reply":
			replies[f.Ref.(string)] = p
		case "state:change":
			m.change(p)
			changes++
		case "state:patch":
			v := m.version
			m.patch(p, lvsNames.key)
			if m.version != v+1 {
				t.Fatalf("version %d after %d", m.version, v)
			}
		default:
			t.Fatalf("got %s %v", f.Event, f.Payload)
		}
	}
	return changes
}

// TestSharedClusterLeaseLostMidEvent: the owner's lease is lost, and
// another node takes the topic over, while the owner handles a client
// event of its own client (after its election, before the apply: where a
// lost lease used to leave the event with a "no state" error). The event
// is applied (its update reaches its sender; no error), the old owner's
// update reaches no other node (fencing), and every client converges on
// the new owner's state and version.
func TestSharedClusterLeaseLostMidEvent(t *testing.T) {
	leaser := memlease.New(time.Second)
	_, regs, hs := startNodes(t, 2, func(_ int, c *livestate.Config) { c.SharedLeaser = leaser }, livestate.Options{})
	c0, m0 := joinCount(t, regs[0], "count:1") // node0 owns the topic
	c1, m1 := joinCount(t, regs[1], "count:1")

	var once sync.Once
	lost := make(chan struct{})
	livestate.SetBeforeApply[count](hs[0], func() {
		once.Do(func() {
			defer close(lost)
			leaser.Expire("livestate:count:1")
			deadline := time.Now().Add(waitTimeout)
			for {
				l, _ := leaser.Get(context.Background(), "livestate:count:1")
				if l.Holder == "node1" {
					return
				}
				if time.Now().After(deadline) {
					t.Error("node1 did not take the expired lease over")
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	})
	replies := map[string]map[string]any{}
	ref := c0.push("count:1", "lvs_evt:inc", `{}`) // answered by its update, no reply
	follow(t, c0, m0, "count:1", replies, func() bool { return countOf(m0) == 1 })
	<-lost
	if r, ok := replies[ref]; ok {
		t.Fatalf("event applied while the lease was lost: reply %v", r)
	}
	// node1's clients get its state (Init again), node0's too.
	if ev := c1.update(m1, "count:1", lvsNames); ev != "state:change" || countOf(m1) != 0 {
		t.Fatalf("node1's client after the takeover: %s %v", ev, m1.state)
	}
	for changes := 0; changes == 0; {
		read := false // one frame at a time
		changes += follow(t, c0, m0, "count:1", replies, func() bool { d := read; read = true; return d })
	}
	if countOf(m0) != 0 {
		t.Fatalf("node0's client after the takeover: %v", m0.state)
	}
	c0.push("count:1", "lvs_evt:inc", `{}`)
	c1.push("count:1", "lvs_evt:inc", `{}`)
	follow(t, c0, m0, "count:1", replies, func() bool { return countOf(m0) == 2 })
	follow(t, c1, m1, "count:1", replies, func() bool { return countOf(m1) == 2 })
	if m0.version != m1.version {
		t.Errorf("versions %d and %d", m0.version, m1.version)
	}
	for r, p := range replies {
		if p["status"] != "ok" {
			t.Errorf("reply %s: %v", r, p)
		}
	}
}

// TestSharedClusterSnapshots: with Config.SharedSnapshots the owner stores
// its state every SharedSnapshot.Every updates and once more as it
// releases the lease; the next owner starts from it instead of Init, its
// versions going on (after a handoff, and after the owner died).
func TestSharedClusterSnapshots(t *testing.T) {
	leaser := memlease.New(500 * time.Millisecond)
	snaps := memlease.NewSnapshots()
	bus, regs, _ := startNodes(t, 3, func(_ int, c *livestate.Config) {
		c.SharedLeaser, c.SharedSnapshots = leaser, snaps
		c.SharedSnapshot = livestate.SnapshotOptions{Every: 2, Interval: time.Hour}
	}, livestate.Options{})
	c0, m0 := joinCount(t, regs[0], "count:1") // node0 owns the topic
	c1, m1 := joinCount(t, regs[1], "count:1")
	c2, m2 := joinCount(t, regs[2], "count:1")
	replies := map[string]map[string]any{}
	for range 3 {
		c0.push("count:1", "lvs_evt:inc", `{}`)
	}
	for _, x := range []struct {
		c *client
		m *mirror
	}{{c0, m0}, {c1, m1}, {c2, m2}} {
		follow(t, x.c, x.m, "count:1", replies, func() bool { return countOf(x.m) == 3 })
	}
	// Handoff: node0's last client leaves; its last state (3, not in an
	// Every snapshot) is stored before the lease is released.
	c0.push("count:1", "phx_leave", `{}`)
	for _, x := range []struct {
		c *client
		m *mirror
	}{{c1, m1}, {c2, m2}} {
		if ev := x.c.update(x.m, "count:1", lvsNames); ev != "state:change" || countOf(x.m) != 3 || x.m.version != 4 {
			t.Fatalf("after the handoff: %s %v at version %d, want count 3 at version 4", ev, x.m.state, x.m.version)
		}
	}
	// The new owner (node1 or node2) dies: the last node starts from its
	// snapshot of count 5 (Every 2), at the version after the last.
	c1.push("count:1", "lvs_evt:inc", `{}`)
	c1.push("count:1", "lvs_evt:inc", `{}`)
	follow(t, c1, m1, "count:1", replies, func() bool { return countOf(m1) == 5 })
	follow(t, c2, m2, "count:1", replies, func() bool { return countOf(m2) == 5 })
	owner, _ := leaser.Get(context.Background(), "livestate:count:1")
	sm, sc := m2, c2 // the survivor's client
	if owner.Holder == "node2" {
		sm, sc = m1, c1
	}
	bus.Lookup(owner.Holder).Cut()
	leaser.Kill(owner.Holder)
	if ev := sc.update(sm, "count:1", lvsNames); ev != "state:change" || countOf(sm) != 5 || sm.version != 7 {
		t.Fatalf("after the owner died: %s %v at version %d, want count 5 at version 7", ev, sm.state, sm.version)
	}
	for r, p := range replies {
		if p["status"] != "ok" {
			t.Errorf("reply %s: %v", r, p)
		}
	}
}

// TestSharedClusterSnapshotTooBig: a state bigger than
// SharedSnapshot.MaxBytes is not stored; the next owner runs Init.
func TestSharedClusterSnapshotTooBig(t *testing.T) {
	leaser := memlease.New(10 * time.Second)
	snaps := memlease.NewSnapshots()
	_, regs, _ := startNodes(t, 2, func(_ int, c *livestate.Config) {
		c.SharedLeaser, c.SharedSnapshots = leaser, snaps
		c.SharedSnapshot = livestate.SnapshotOptions{Every: 1, MaxBytes: len(`{"n":9}`) - 1}
	}, livestate.Options{})
	c0, m0 := joinCount(t, regs[0], "count:1") // node0 owns the topic
	c1, m1 := joinCount(t, regs[1], "count:1")
	c0.push("count:1", "lvs_evt:inc", `{}`)
	c0.update(m0, "count:1", lvsNames)
	c1.update(m1, "count:1", lvsNames)
	c0.push("count:1", "phx_leave", `{}`)
	if ev := c1.update(m1, "count:1", lvsNames); ev != "state:change" || countOf(m1) != 0 || m1.version != 2 {
		t.Fatalf("after the handoff: %s %v at version %d, want Init's count 0 at version 2", ev, m1.state, m1.version)
	}
	if n := snaps.Saves(); n != 0 {
		t.Errorf("%d snapshots stored, each bigger than MaxBytes", n)
	}
}

// TestSharedClusterForwardToNewOwner: a client event forwarded to the
// owner a node knows reaches a node that lost the topic meanwhile (the
// forwarding node has not noticed yet): it answers so, and the event is
// forwarded once more, to the lease's current holder, which applies it.
func TestSharedClusterForwardToNewOwner(t *testing.T) {
	leaser := memlease.New(time.Second)
	logs := &logRecorder{}
	_, regs, hs := startNodes(t, 3, func(i int, c *livestate.Config) {
		c.SharedLeaser = leaser
		if i == 0 {
			c.Engine.Logger = slog.New(logs)
		}
	}, livestate.Options{})
	_, _ = joinCount(t, regs[0], "count:1") // node0 owns the topic
	c1, m1 := joinCount(t, regs[1], "count:1")
	c2, m2 := joinCount(t, regs[2], "count:1")

	// Before node1 forwards: node0 and node1 can take no lease, the lease
	// expires, node2 takes the topic over and node0 has stepped down.
	var once sync.Once
	livestate.SetBeforeForward[count](hs[1], func() {
		once.Do(func() {
			leaser.Kill("node0")
			leaser.Kill("node1")
			leaser.Expire("livestate:count:1")
			deadline := time.Now().Add(waitTimeout)
			for {
				l, _ := leaser.Get(context.Background(), "livestate:count:1")
				if l.Holder == "node2" && len(logs.levels("livestate: shared topic election failed")) > 0 {
					return
				}
				if time.Now().After(deadline) {
					t.Error("node2 did not take the topic over from node0")
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	})
	replies := map[string]map[string]any{}
	c1.push("count:1", "lvs_evt:inc", `{}`)
	follow(t, c2, m2, "count:1", replies, func() bool { return countOf(m2) == 1 })
	follow(t, c1, m1, "count:1", replies, func() bool { return countOf(m1) == 1 })
	if m1.version != m2.version {
		t.Errorf("versions %d and %d", m1.version, m2.version)
	}
	for r, p := range replies {
		t.Errorf("reply %s: %v", r, p) // the event has no reply unless it failed
	}
}

// TestSharedClusterLostLastUpdate: the PubSub loses the owner's last
// update on its way to another node (brokers deliver at most once) and no
// update follows. That node asks the owner which update it sent last
// (Config.SharedConfirm) and its client gets the owner's state; while
// nothing is lost, the check sends the client nothing.
func TestSharedClusterLostLastUpdate(t *testing.T) {
	const confirm = 50 * time.Millisecond
	leaser := memlease.New(5 * time.Second)
	bus, regs, _ := startNodes(t, 2, func(_ int, c *livestate.Config) {
		c.SharedLeaser, c.SharedConfirm = leaser, confirm
	}, livestate.Options{})
	c0, m0 := joinCount(t, regs[0], "count:1") // node0 owns the topic
	c1, m1 := joinCount(t, regs[1], "count:1")

	c0.push("count:1", "lvs_evt:inc", `{}`)
	c0.update(m0, "count:1", lvsNames)
	if ev := c1.update(m1, "count:1", lvsNames); ev != "state:patch" {
		t.Fatalf("node1's client got %s, want the state:patch", ev)
	}
	time.Sleep(4 * confirm) // checks ran: they found nothing missing
	c1.expectNothing()

	var lost atomic.Int32
	bus.Lookup("node1").Drop(func(e *phx.Envelope) bool {
		return e.Topic == "count:1" && e.ToNode == "" && lost.Add(1) == 1
	})
	c0.push("count:1", "lvs_evt:inc", `{}`)
	c0.update(m0, "count:1", lvsNames)
	if ev := c1.update(m1, "count:1", lvsNames); ev != "state:change" {
		t.Fatalf("node1's client got %s, want the owner's state:change", ev)
	}
	if lost.Load() == 0 {
		t.Fatal("no update was lost")
	}
	if countOf(m1) != 2 || m1.version != m0.version {
		t.Fatalf("node1's client at %v version %d, the owner's at %v version %d", m1.state, m1.version, m0.state, m0.version)
	}
	// The next update is a patch on it.
	c1.push("count:1", "lvs_evt:inc", `{}`)
	c0.update(m0, "count:1", lvsNames)
	if ev := c1.update(m1, "count:1", lvsNames); ev != "state:patch" || countOf(m1) != 3 || m1.version != m0.version {
		t.Fatalf("node1's client got %s: %v version %d, want a patch to 3 at %d", ev, m1.state, m1.version, m0.version)
	}
}

// joined is a client of count:1 and its mirror of the state.
type joined struct {
	c *client
	m *mirror
}

// joinAndUpdate joins count:1 on every node in turn (the first one owns
// it), then increments it from the first node's client and reads that
// update on every client.
func joinAndUpdate(t *testing.T, regs []*livestate.Registry) []joined {
	t.Helper()
	var cs []joined
	for _, reg := range regs {
		c, m := joinCount(t, reg, "count:1")
		cs = append(cs, joined{c, m})
	}
	cs[0].c.push("count:1", "lvs_evt:inc", `{}`)
	expectUpdate(t, "state:patch", 1, cs...)
	return cs
}

// expectUpdate reads the next update of each client: it must be ev (a
// patch with the next version) and bring the count to want.
func expectUpdate(t *testing.T, ev string, want int, cs ...joined) {
	t.Helper()
	for i, x := range cs {
		v := x.m.version
		got := x.c.update(x.m, "count:1", lvsNames)
		if got != ev || countOf(x.m) != want || ev == "state:patch" && x.m.version != v+1 {
			t.Fatalf("client %d got %s: %v at version %d after %d, want %s to %d", i, got, x.m.state, x.m.version, v, ev, want)
		}
	}
}

// gatedLeaser is a Leaser whose Acquire, while the gate is shut, waits
// until it opens, whatever its context says: a lease store that stalls.
type gatedLeaser struct {
	cluster.Leaser
	mu      sync.Mutex
	gate    chan struct{}
	waiting chan struct{} // closed when an Acquire waits at the shut gate
}

func (g *gatedLeaser) shut() {
	g.mu.Lock()
	g.gate, g.waiting = make(chan struct{}), make(chan struct{})
	g.mu.Unlock()
}

func (g *gatedLeaser) open() {
	g.mu.Lock()
	if g.gate != nil {
		close(g.gate)
		g.gate = nil
	}
	g.mu.Unlock()
}

func (g *gatedLeaser) Acquire(ctx context.Context, name, holder string) (cluster.Lease, error) {
	g.mu.Lock()
	gate, waiting := g.gate, g.waiting
	if gate != nil {
		select {
		case <-waiting:
		default:
			close(waiting)
		}
	}
	g.mu.Unlock()
	if gate != nil {
		<-gate
	}
	return g.Leaser.Acquire(ctx, name, holder)
}

// TestSharedClusterStalledStore: the owner dies while another node's lease
// store stalls in the election that follows. That node's client still gets
// the new owner's updates and its events still reach the new owner: the
// election runs aside, and neither the delivery nor the forwarding waits
// for the store. When the store answers, the node follows the new owner
// with nothing sent twice.
func TestSharedClusterStalledStore(t *testing.T) {
	leaser := memlease.New(500 * time.Millisecond)
	g1, g2 := &gatedLeaser{Leaser: leaser}, &gatedLeaser{Leaser: leaser}
	bus, regs, _ := startNodes(t, 3, func(i int, c *livestate.Config) {
		c.SharedLeaser = []cluster.Leaser{leaser, g1, g2}[i]
	}, livestate.Options{})
	// Before the nodes shut down (cleanups run last first): a shutdown
	// waits for a running election.
	t.Cleanup(g1.open)
	t.Cleanup(g2.open)
	cs := joinAndUpdate(t, regs)
	c1, m1, c2, m2 := cs[1].c, cs[1].m, cs[2].c, cs[2].m

	g1.shut()
	g2.shut()
	bus.Lookup("node0").Cut()
	leaser.Kill("node0")
	// node1's election waits at its store; node2's goes on.
	select {
	case <-g1.waiting:
	case <-time.After(waitTimeout):
		t.Fatal("node1 did not elect after the owner's lease ended")
	}
	g2.open()
	both := []joined{{c1, m1}, {c2, m2}}
	expectUpdate(t, "state:change", 0, both...)
	// node1's store still stalls: its client's events go to node2.
	for want := 1; want <= 3; want++ {
		c1.push("count:1", "lvs_evt:inc", `{}`)
		expectUpdate(t, "state:patch", want, both...)
	}
	g1.open() // node1's election ends: node2 holds the lease
	c2.push("count:1", "lvs_evt:inc", `{}`)
	expectUpdate(t, "state:patch", 4, both...)
	c1.expectNothing()
	if m1.version != m2.version {
		t.Errorf("versions %d and %d", m1.version, m2.version)
	}
}
