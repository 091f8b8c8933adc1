package clustertest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seance-go/seance/pubsub/internal/wire"
)

// frameEvent is the broadcast event of livestate's shared-topic owner
// updates (livestate/sharedcluster.go).
const frameEvent = "seance:lvs_frame"

// Publications records, as a spy subscriber of the broker sees them, the
// state updates the nodes publish for the shared topics: which node, under
// which fencing token, published which version. Like every node, it
// fences: an update with an older token than one seen before on its topic
// (a cut-off owner's, sent late) is counted as refused, not recorded. Feed
// it every message of the broker with Add. Safe for concurrent use.
type Publications struct {
	mu      sync.Mutex
	by      map[string]map[int][]string // topic → version → "node/token", in order
	fence   map[string]uint64           // topic → greatest token seen
	last    map[string]time.Time        // node → when its last admitted update was recorded
	all     int
	refused map[string]int // node → updates refused by the fence
}

// NewPublications returns an empty record.
func NewPublications() *Publications {
	return &Publications{by: map[string]map[int][]string{}, fence: map[string]uint64{}, last: map[string]time.Time{}, refused: map[string]int{}}
}

// Add records msg, one message as the adapters put it on the broker (the
// wire encoding); anything but a shared topic's state update is ignored.
func (p *Publications) Add(msg []byte) {
	m, err := wire.Decode(msg)
	if err != nil || m.Event != frameEvent {
		return
	}
	var f struct {
		Node  string          `json:"n"`
		Token uint64          `json:"t"`
		Event string          `json:"e"`
		P     json.RawMessage `json:"p"`
	}
	if json.Unmarshal(m.Payload, &f) != nil || (f.Event != "state:change" && f.Event != "state:patch") {
		return
	}
	var v struct{ Version int }
	if json.Unmarshal(f.P, &v) != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if f.Token < p.fence[m.Topic] {
		p.refused[f.Node]++
		return
	}
	p.fence[m.Topic] = f.Token
	if p.by[m.Topic] == nil {
		p.by[m.Topic] = map[int][]string{}
	}
	who := fmt.Sprintf("%s/%d", f.Node, f.Token)
	p.by[m.Topic][v.Version] = append(p.by[m.Topic][v.Version], who)
	p.last[f.Node] = time.Now()
	p.all++
}

// Last returns when the last update of node that the fence admitted was
// recorded (zero: none).
func (p *Publications) Last(node string) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last[node]
}

// Nodes returns the nodes that published updates of topic.
func (p *Publications) Nodes(topic string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var nodes []string
	for _, whos := range p.by[topic] {
		for _, w := range whos {
			n, _, _ := strings.Cut(w, "/")
			if !slices.Contains(nodes, n) {
				nodes = append(nodes, n)
			}
		}
	}
	slices.Sort(nodes)
	return nodes
}

// Check fails t for every version of topic that two nodes (or two
// holdings of one node) published and the fence admitted.
func (p *Publications) Check(t *testing.T, topic string) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for v, whos := range p.by[topic] {
		w := slices.Compact(slices.Clone(whos))
		if len(w) > 1 {
			t.Errorf("%s: version %d published by %v", topic, v, w)
		}
	}
	t.Logf("%s: %d updates admitted on the broker; refused by the fence (stale owner, late): %v", topic, p.all, p.refused)
}

// entry is one state frame a client received.
type entry struct {
	at      time.Time
	change  bool
	version int
	count   int64
}

// follower is a board client whose frames a goroutine records, while
// another goroutine may push.
type follower struct {
	*Client
	name string
	join string

	mu      sync.Mutex
	log     []entry
	errors  int
	replies map[string]bool // refs answered
	pushErr error
	done    chan struct{}
}

func follow(t *testing.T, p *Proc, name, topic string) *follower {
	t.Helper()
	c := &follower{Client: Dial(t, p, name), name: name, done: make(chan struct{}), replies: map[string]bool{}}
	c.join = c.Join(topic)
	go func() {
		defer close(c.done)
		for f := range c.Frames {
			if f.Topic != topic {
				continue
			}
			switch f.Event {
			case "state:change", "state:patch":
				c.mu.Lock()
				var prev int64
				if n := len(c.log); n > 0 {
					prev = c.log[n-1].count
				}
				e := entry{at: time.Now()}
				e.change, e.version, e.count, _ = boardFrame(f, prev)
				c.log = append(c.log, e)
				c.mu.Unlock()
			case "error":
				c.mu.Lock()
				c.errors++
				c.mu.Unlock()
			case "phx_reply":
				if f.Ref != nil {
					c.mu.Lock()
					c.replies[*f.Ref] = true
					c.mu.Unlock()
				}
			}
		}
	}()
	t.Cleanup(func() { c.conn.Close(); <-c.done })
	return c
}

// entries returns a copy of the frames received so far.
func (c *follower) entries() []entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.log)
}

// waitFor waits until cond holds for the frames received, at most Wait.
func (c *follower) waitFor(t *testing.T, what string, cond func([]entry) bool) {
	t.Helper()
	deadline := time.Now().Add(Wait)
	for !cond(c.entries()) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %s within %v (last frames %v)", c.name, what, Wait, tail(c.entries()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func tail(es []entry) []entry {
	if len(es) > 5 {
		return es[len(es)-5:]
	}
	return es
}

// tryPush pushes like Push, returning the error instead of failing (the
// node may be dead).
func (c *follower) tryPush(topic, event string) (ref string, err error) {
	c.ref++
	ref = fmt.Sprint(c.ref)
	return ref, c.conn.WriteJSON([]any{c.join, ref, topic, event, map[string]any{}})
}

// checkSequence fails t where c's versions do not follow phx-live-state's
// rules: each patch has the next version; a state:change (the join's, a
// takeover's, a refresh's) may come at any version but never goes back
// (unless back: the client of a cut-off owner, which went on alone until
// it stopped acting).
func (c *follower) checkSequence(t *testing.T, back bool) {
	t.Helper()
	es := c.entries()
	if len(es) == 0 || !es[0].change {
		t.Errorf("%s: first frame is not a state:change", c.name)
		return
	}
	for i := 1; i < len(es); i++ {
		prev, e := es[i-1], es[i]
		switch {
		case e.change && e.version < prev.version && !back:
			t.Errorf("%s: state:change at version %d after %d", c.name, e.version, prev.version)
		case !e.change && e.version != prev.version+1:
			t.Errorf("%s: patch of version %d after %d", c.name, e.version, prev.version)
		}
	}
}

// TakeoverOptions tune SharedTakeover.
type TakeoverOptions struct {
	// Bound is how long after the SIGKILL the survivors' clients must have
	// the new owner's state:change (default 5s, the documented bound of
	// the default lease TTL).
	Bound time.Duration
	// Snapshot: the new owner starts from a state the old one stored
	// (its nodes run with snapshots every SnapshotEvery updates), not
	// from Init: SharedTakeover lets the count pass SnapshotEvery+50
	// before the SIGKILL.
	Snapshot      bool
	SnapshotEvery int64
}

// SharedTakeover runs the takeover-under-load scenario on three seance-node
// processes (procs[0] first: it owns board:1) while pubs records what the
// nodes publish on the broker: clients on every node push events
// concurrently; procs[0] is SIGKILLed mid-stream; within the bound the
// clients of the other nodes get the new owner's state:change (Init again:
// count 0, or the stored snapshot) and go on; once the pushing stops every
// client converges on the same count and version. Every client's versions
// follow phx-live-state's rules throughout (no gap, no repeat: only a
// state:change may jump), and no version is ever published by two nodes.
// subscribed waits until n nodes are subscribed to topic in the broker.
func SharedTakeover(t *testing.T, procs []*Proc, subscribed func(topic string, n int), pubs *Publications, o TakeoverOptions) {
	t.Helper()
	if o.Bound <= 0 {
		o.Bound = 5 * time.Second
	}
	const topic = "board:1"
	const maxPushes = 200
	var cs []*follower
	for i, p := range procs { // procs[0] joins first: it owns the board
		c := follow(t, p, fmt.Sprintf("c%d", i+1), topic)
		c.waitFor(t, "state", func(es []entry) bool { return len(es) > 0 })
		cs = append(cs, c)
	}
	subscribed(topic, 3)

	// Every client pushes, paced (the owner's until its node dies under
	// it), at most maxPushes events: the versions stay below live_state's
	// wrap (1000), where they would repeat.
	stops := pushers(cs, topic, maxPushes)
	stopPushing := func() {
		for _, stop := range stops {
			stop()
		}
	}
	defer stopPushing()

	least := int64(60)
	if o.Snapshot {
		least = o.SnapshotEvery + 50
	}
	for _, c := range cs {
		c.waitFor(t, fmt.Sprintf("count %d", least), func(es []entry) bool { return es[len(es)-1].count >= least })
	}
	killed := time.Now()
	procs[0].Kill()
	for _, c := range cs[1:] {
		var took, last entry // the new owner's state:change, the old owner's last
		c.waitFor(t, "the new owner's state:change", func(es []entry) bool {
			for i, e := range es {
				if e.change && e.at.After(killed) {
					took, last = e, es[i-1]
					return true
				}
			}
			return false
		})
		if d := took.at.Sub(killed); d > o.Bound {
			t.Errorf("%s: the new owner's state:change came %v after the SIGKILL, past the bound of %v", c.name, d, o.Bound)
		}
		switch {
		case took.version != last.version+1:
			t.Errorf("%s: takeover state:change at version %d after the old owner's %d, want the next", c.name, took.version, last.version)
		case !o.Snapshot && took.count != 0:
			t.Errorf("%s: takeover state:change with count %d, want 0 (Init again)", c.name, took.count)
		case o.Snapshot && (took.count > last.count || took.count < o.SnapshotEvery):
			t.Errorf("%s: takeover state:change with count %d, want a snapshot of the old owner (at least %d, at most its last %d)", c.name, took.count, o.SnapshotEvery, last.count)
		}
		t.Logf("%s: new owner's state:change %v after the SIGKILL, at version %d count %d", c.name, took.at.Sub(killed).Round(time.Millisecond), took.version, took.count)
	}
	// The survivors go on under the new owner for a while.
	for _, c := range cs[1:] {
		n := len(c.entries())
		c.waitFor(t, "updates from the new owner", func(es []entry) bool { return len(es) >= n+20 })
	}
	stopPushing()
	for _, c := range cs[1:] {
		c.mu.Lock()
		err := c.pushErr
		c.mu.Unlock()
		if err != nil {
			t.Fatalf("%s: push to a live node: %v", c.name, err)
		}
	}

	converge(t, procs[1], topic, cs[1:])
	for _, c := range cs {
		c.checkSequence(t, false)
		c.mu.Lock()
		t.Logf("%s: %d state frames, %d error events", c.name, len(c.log), c.errors)
		c.mu.Unlock()
	}
	pubs.Check(t, topic)
	if nodes := pubs.Nodes(topic); len(nodes) < 2 || !slices.Contains(nodes, procs[0].Name) {
		t.Errorf("updates recorded from %v: want the old owner %s and its successor", nodes, procs[0].Name)
	}
	procs[1].CheckAlive(t)
	procs[2].CheckAlive(t)
}

// pushers makes each client push lvs_evt:inc every 20ms, at most max
// events, until its stop function is called (which waits for the pusher).
// A push that fails is recorded in pushErr.
func pushers(cs []*follower, topic string, max int) (stops []func()) {
	for _, c := range cs {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for range max {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if _, err := c.tryPush(topic, "lvs_evt:inc"); err != nil {
					c.mu.Lock()
					c.pushErr = err
					c.mu.Unlock()
					return
				}
			}
		}()
		var once sync.Once
		stops = append(stops, func() {
			once.Do(func() { close(stop) })
			<-done
		})
	}
	return stops
}

// converge waits until every client has the state a late joiner of p
// gets, once the pushing stopped. A client's events run one after the
// other (each forwarded event waits for the owner's answer): the reply to
// an event pushed after them (an unknown one, answered with an error)
// comes once they are all applied. After each client's, the topic's state
// is final.
func converge(t *testing.T, p *Proc, topic string, cs []*follower) entry {
	t.Helper()
	for _, c := range cs {
		ref, err := c.tryPush(topic, "lvs_evt:sync")
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(Wait)
		for {
			c.mu.Lock()
			ok := c.replies[ref]
			c.mu.Unlock()
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no reply to the events' end marker within %v", c.name, Wait)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	late := follow(t, p, "late", topic)
	late.waitFor(t, "state", func(es []entry) bool { return len(es) > 0 })
	final := late.entries()[0]
	for _, c := range cs {
		c.waitFor(t, fmt.Sprintf("the final state (count %d at version %d)", final.count, final.version), func(es []entry) bool {
			e := es[len(es)-1]
			return e.version == final.version && e.count == final.count
		})
	}
	return final
}

// SharedStalled runs the stalled-link scenario on three seance-node
// processes (procs[0] first: it owns board:1) while pubs records what the
// nodes publish on the broker. Clients on every node push events; stall
// cuts procs[0]'s broker connections off (nothing passes, nothing fails);
// procs[0] stops acting before its lease can expire, and within bound the
// clients of the other nodes get the new owner's state:change and go on.
// Then resume restores the link: nothing procs[0] publishes from then on
// is admitted (updates it queued while cut off may reach the broker late,
// with its old token: every node's fence refuses them, and so does pubs),
// its client converges on the new owner's state, and all clients end on
// one state. The versions of the others' clients follow phx-live-state's
// rules throughout; no admitted version is published by two nodes.
func SharedStalled(t *testing.T, procs []*Proc, stall, resume func(), subscribed func(topic string, n int), pubs *Publications, bound time.Duration) {
	t.Helper()
	const topic = "board:1"
	var cs []*follower
	for i, p := range procs {
		c := follow(t, p, fmt.Sprintf("c%d", i+1), topic)
		c.waitFor(t, "state", func(es []entry) bool { return len(es) > 0 })
		cs = append(cs, c)
	}
	subscribed(topic, 3)
	stops := pushers(cs, topic, 200)
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	for _, c := range cs {
		c.waitFor(t, "count 30", func(es []entry) bool { return es[len(es)-1].count >= 30 })
	}
	stalled := time.Now()
	stall()
	for _, c := range cs[1:] {
		var took entry
		c.waitFor(t, "the new owner's state:change", func(es []entry) bool {
			for _, e := range es {
				if e.change && e.at.After(stalled) {
					took = e
					return true
				}
			}
			return false
		})
		if d := took.at.Sub(stalled); d > bound {
			t.Errorf("%s: the new owner's state:change came %v after the stall, past the bound of %v", c.name, d, bound)
		}
		t.Logf("%s: new owner's state:change %v after the stall, at version %d", c.name, took.at.Sub(stalled).Round(time.Millisecond), took.version)
		n := len(c.entries())
		c.waitFor(t, "updates from the new owner", func(es []entry) bool { return len(es) >= n+10 })
	}
	resumed := time.Now()
	resume()
	c1 := cs[0]
	c1.waitFor(t, "the new owner's state after the resume", func(es []entry) bool {
		return slices.ContainsFunc(es, func(e entry) bool { return e.change && e.at.After(resumed) })
	})
	for _, stop := range stops {
		stop()
	}
	for _, c := range cs {
		c.mu.Lock()
		err := c.pushErr
		c.mu.Unlock()
		if err != nil {
			t.Fatalf("%s: push: %v", c.name, err)
		}
	}
	defer func() {
		if t.Failed() {
			for _, c := range cs {
				t.Logf("%s frames: %v", c.name, summary(c.entries()))
			}
			t.Logf("published: %v", pubs.summary(topic))
		}
	}()
	converge(t, procs[1], topic, cs)
	for i, c := range cs {
		c.checkSequence(t, i == 0)
		c.mu.Lock()
		t.Logf("%s: %d state frames, %d error events", c.name, len(c.log), c.errors)
		c.mu.Unlock()
	}
	if last := pubs.Last(procs[0].Name); last.After(resumed) {
		t.Errorf("%s published an update admitted %v after its link resumed", procs[0].Name, last.Sub(resumed))
	}
	pubs.Check(t, topic)
	for _, p := range procs {
		p.CheckAlive(t)
	}
}

// SharedLostLastUpdates runs the lost-last-updates scenario on two
// seance-node processes: procs[0] owns board:1 (its client joins first);
// procs[1]'s broker link is black-holed by stall while the owner's client
// pushes its last two events, and for longer than the owner's first
// confirmation (livestate.Config.SharedConfirm, 1 s by default, after its
// last update); resume then restores it. The broker's at-most-once pub/sub
// loses those two updates for procs[1], and nothing later comes to reveal
// the gap: a later confirmation must bring procs[1]'s client the owner's
// state, in one state:change with the owner's count and version. Without
// confirmations that client stays behind until the next update.
func SharedLostLastUpdates(t *testing.T, procs []*Proc, stall, resume func(), subscribed func(topic string, n int)) {
	t.Helper()
	const topic = "board:1"
	count := func(n int64) func([]entry) bool {
		return func(es []entry) bool { return len(es) > 0 && es[len(es)-1].count == n }
	}
	var cs []*follower
	for i, p := range procs[:2] {
		c := follow(t, p, fmt.Sprintf("c%d", i+1), topic)
		c.waitFor(t, "state", count(0))
		cs = append(cs, c)
	}
	subscribed(topic, 2)
	owner, behind := cs[0], cs[1]
	defer func() {
		if t.Failed() {
			for _, c := range cs {
				t.Logf("%s frames: %v", c.name, summary(c.entries()))
			}
		}
	}()
	push := func() {
		t.Helper()
		if _, err := owner.tryPush(topic, "lvs_evt:inc"); err != nil {
			t.Fatalf("%s: push: %v", owner.name, err)
		}
	}
	push()
	for _, c := range cs {
		c.waitFor(t, "count 1", count(1))
	}
	stall()
	push()
	push()
	owner.waitFor(t, "count 3", count(3))
	// Past the owner's first confirmation, 1 s after its last update.
	time.Sleep(1500 * time.Millisecond)
	if es := behind.entries(); es[len(es)-1].count != 1 {
		t.Fatalf("%s: count %d while its node's broker link was black-holed, want 1", behind.name, es[len(es)-1].count)
	}
	resumed := time.Now()
	resume()
	behind.waitFor(t, "the owner's state after the resume", count(3))
	es := behind.entries()
	last := es[len(es)-1]
	ownerEs := owner.entries()
	if want := ownerEs[len(ownerEs)-1].version; !last.change || last.version != want {
		t.Errorf("%s: count 3 came in %+v, want a state:change at the owner's version %d", behind.name, last, want)
	}
	changes := 0
	for _, e := range es {
		if e.change && e.at.After(resumed) {
			changes++
		}
	}
	if changes != 1 {
		t.Errorf("%s: %d state:change frames after the resume, want 1", behind.name, changes)
	}
	t.Logf("%s: the owner's state %v after the resume", behind.name, last.at.Sub(resumed).Round(time.Millisecond))
	for _, p := range procs {
		p.CheckAlive(t)
	}
}

// summary sums es up as runs of consecutive versions.
func summary(es []entry) string {
	var b strings.Builder
	for i, e := range es {
		if e.change || i == 0 || e.version != es[i-1].version+1 {
			if i > 0 {
				fmt.Fprintf(&b, "..%d/%d ", es[i-1].version, es[i-1].count)
			}
			kind := "p"
			if e.change {
				kind = "c"
			}
			fmt.Fprintf(&b, "%s%d/%d", kind, e.version, e.count)
		}
	}
	if n := len(es); n > 0 {
		fmt.Fprintf(&b, "..%d/%d", es[n-1].version, es[n-1].count)
	}
	return b.String()
}

// summary sums up who published which versions of topic.
func (p *Publications) summary(topic string) map[string][2]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string][2]int{}
	for v, whos := range p.by[topic] {
		for _, w := range whos {
			r, ok := out[w]
			if !ok {
				r = [2]int{v, v}
			}
			out[w] = [2]int{min(r[0], v), max(r[1], v)}
		}
	}
	return out
}
