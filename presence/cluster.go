package presence

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"sync"
	"time"

	"github.com/seance-go/seance/cluster"
)

// service is the presence's name on the cluster membership.
const service = "presence"

// snapshotBytes is about how many bytes of entries one snapshot message
// carries (NATS refuses messages above 1 MiB by default).
const snapshotBytes = 256 << 10

// op is one change of a node's own entries, numbered by the node's
// version.
type op struct {
	V     uint64          `json:"v,omitempty"`
	Leave bool            `json:"l,omitempty"`
	Topic string          `json:"t"`
	Key   string          `json:"k"`
	Ref   string          `json:"r"`
	Prev  string          `json:"p,omitempty"`
	Meta  json.RawMessage `json:"m,omitempty"`
}

// delta carries consecutive ops of a node; Ops[0].V-1 is the version it
// applies to.
type delta struct {
	Epoch string `json:"e"`
	Ops   []op   `json:"ops"`
}

// snapshot is one part of every entry a node owns at Version.
type snapshot struct {
	Epoch   string `json:"e"`
	ID      string `json:"id"`
	Version uint64 `json:"v"`
	Part    int    `json:"part"`
	Parts   int    `json:"parts"`
	Entries []op   `json:"entries"`
}

// digest is what a node's heartbeats say of its entries.
type digest struct {
	Epoch string `json:"e"`
	V     uint64 `json:"v"`
}

// replica is this node's copy of another node's entries.
type replica struct {
	epoch   string
	version uint64
	entries map[string]*entry // by phx_ref
	staleV  uint64            // a heartbeat announced this version, not reached yet
	asked   time.Time         // last snapshot request
	pending *snapshot         // parts received so far
	parts   []op
}

// replicator sends this node's changes to the others and keeps replicas
// of theirs, through the cluster membership. Its state is guarded by the
// tracker's mu.
type replicator struct {
	t     *Tracker
	m     *cluster.Membership
	epoch string

	version  uint64 // of this node's entries
	sent     uint64 // the last version published
	ops      []op   // not published yet
	replicas map[string]*replica
	ask      map[string]bool // nodes to request a snapshot from
	serve    map[string]bool // nodes that requested one

	kick   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	sendMu sync.Mutex // one sending round at a time
}

func newReplicator(t *Tracker, m *cluster.Membership) *replicator {
	var rnd [8]byte
	rand.Read(rnd[:])
	r := &replicator{
		t: t, m: m, epoch: base64.RawURLEncoding.EncodeToString(rnd[:]),
		replicas: map[string]*replica{}, ask: map[string]bool{}, serve: map[string]bool{},
		kick: make(chan struct{}, 1), done: make(chan struct{}),
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	m.Register(service, &cluster.Service{
		Digest:    r.digest,
		Heartbeat: r.heartbeat,
		Receive:   r.receive,
		Nodes:     r.nodeEvent,
	})
	go r.run()
	return r
}

// localOpLocked records a change of this node's entries for the other
// nodes.
func (t *Tracker) localOpLocked(leave bool, e *entry) {
	r := t.repl
	if r == nil {
		return
	}
	r.version++
	o := op{V: r.version, Leave: leave, Topic: e.topic, Key: e.key, Ref: e.meta.Ref}
	if !leave {
		o.Prev, o.Meta = e.meta.PrevRef, e.meta.Data
	}
	r.ops = append(r.ops, o)
}

const (
	opJoin  = false
	opLeave = true
)

// flushDeltas asks the sender to publish the ops collected so far.
func (r *replicator) flushDeltas() { r.wake() }

func (r *replicator) wake() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// run publishes deltas, snapshots and snapshot requests, one round per
// wake-up, so that a slow broker never holds up the tracker.
func (r *replicator) run() {
	defer close(r.done)
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-r.kick:
		}
		r.round(r.ctx)
	}
}

// timeout bounds each publish: one heartbeat period.
func (r *replicator) timeout() time.Duration { return r.m.Options().Heartbeat }

func (r *replicator) publish(ctx context.Context, to, event string, v any) {
	payload, err := json.Marshal(v)
	if err != nil {
		r.t.log.Error("presence: cluster message not encodable", "event", event, "error", err)
		return
	}
	pctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	if err := r.m.Send(pctx, to, service, event, payload); err != nil && ctx.Err() == nil {
		r.t.log.Debug("presence: cluster message not sent; the others resynchronize", "event", event, "to", to, "error", err)
	}
}

func (r *replicator) round(ctx context.Context) {
	r.sendMu.Lock()
	defer r.sendMu.Unlock()
	r.t.mu.Lock()
	ops := r.ops
	r.ops = nil
	asks, serves := r.ask, r.serve
	r.ask, r.serve = map[string]bool{}, map[string]bool{}
	r.t.mu.Unlock()

	for len(ops) > 0 {
		n, size := 0, 0
		for n < len(ops) && (n == 0 || size < snapshotBytes) {
			size += len(ops[n].Meta) + len(ops[n].Topic) + len(ops[n].Key) + 64
			n++
		}
		r.publish(ctx, "", "delta", delta{Epoch: r.epoch, Ops: ops[:n]})
		// Sent or lost, the heartbeats announce it: a node that missed it
		// asks for a snapshot.
		r.t.mu.Lock()
		r.sent = ops[n-1].V
		r.t.mu.Unlock()
		ops = ops[n:]
	}
	for node := range serves {
		r.sendSnapshot(ctx, node)
	}
	for node := range asks {
		r.publish(ctx, node, "sync", struct{}{})
	}
}

// sendSnapshot publishes every entry this node owns to node, in parts.
func (r *replicator) sendSnapshot(ctx context.Context, node string) {
	r.t.mu.Lock()
	version := r.version
	var entries []op
	for _, mine := range r.t.chans {
		for _, e := range mine {
			entries = append(entries, op{Topic: e.topic, Key: e.key, Ref: e.meta.Ref, Prev: e.meta.PrevRef, Meta: e.meta.Data})
		}
	}
	r.t.mu.Unlock()
	var parts [][]op
	for len(entries) > 0 || len(parts) == 0 {
		n, size := 0, 0
		for n < len(entries) && (n == 0 || size < snapshotBytes) {
			size += len(entries[n].Meta) + len(entries[n].Topic) + len(entries[n].Key) + 64
			n++
		}
		parts = append(parts, entries[:n])
		entries = entries[n:]
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	id := base64.RawURLEncoding.EncodeToString(rnd[:])
	for i, p := range parts {
		r.publish(ctx, node, "snapshot", snapshot{Epoch: r.epoch, ID: id, Version: version, Part: i, Parts: len(parts), Entries: p})
	}
}

// digest is this node's heartbeat content: its epoch and the last version
// it published.
func (r *replicator) digest() json.RawMessage {
	r.t.mu.Lock()
	d := digest{Epoch: r.epoch, V: r.sent}
	r.t.mu.Unlock()
	b, _ := json.Marshal(d)
	return b
}

// askLocked requests a snapshot of node, at most once per two heartbeat
// periods.
func (r *replicator) askLocked(node string, rep *replica) {
	now := time.Now()
	if rep != nil {
		if now.Sub(rep.asked) < 2*r.timeout() {
			return
		}
		rep.asked = now
	}
	r.ask[node] = true
	r.wake()
}

// heartbeat compares another node's digest with its replica.
func (r *replicator) heartbeat(from string, raw json.RawMessage) {
	var d digest
	if raw == nil || json.Unmarshal(raw, &d) != nil {
		return
	}
	r.t.mu.Lock()
	defer r.t.mu.Unlock()
	rep := r.replicas[from]
	if rep == nil {
		rep = &replica{entries: map[string]*entry{}}
		r.replicas[from] = rep
		r.askLocked(from, rep)
		return
	}
	switch {
	case rep.epoch != d.Epoch:
		r.askLocked(from, rep)
	case rep.version >= d.V:
		// Up to date; ahead when a snapshot carried changes whose delta
		// is not published yet (an epoch never goes back).
		rep.staleV = 0
	case rep.staleV != 0 && rep.version < rep.staleV:
		// Announced by the previous heartbeat and still not here: lost.
		r.askLocked(from, rep)
	default:
		// Maybe in flight: wait one period.
		rep.staleV = d.V
	}
}

// receive handles deltas, snapshot requests and snapshots of other nodes.
func (r *replicator) receive(from, event string, payload []byte) {
	switch event {
	case "delta":
		var d delta
		if err := json.Unmarshal(payload, &d); err != nil || len(d.Ops) == 0 {
			return
		}
		r.t.mu.Lock()
		defer r.t.mu.Unlock()
		if !r.upLocked(from) {
			return
		}
		rep := r.replicas[from]
		if rep == nil || rep.epoch != d.Epoch || d.Ops[0].V-1 > rep.version {
			if rep == nil {
				rep = &replica{entries: map[string]*entry{}}
				r.replicas[from] = rep
			}
			r.askLocked(from, rep)
			return
		}
		for _, o := range d.Ops {
			if o.V <= rep.version {
				continue
			}
			r.applyLocked(from, rep, o)
			rep.version = o.V
		}
	case "sync":
		r.t.mu.Lock()
		r.serve[from] = true
		r.t.mu.Unlock()
		r.wake()
	case "snapshot":
		var s snapshot
		if err := json.Unmarshal(payload, &s); err != nil {
			return
		}
		r.t.mu.Lock()
		defer r.t.mu.Unlock()
		if !r.upLocked(from) {
			return
		}
		rep := r.replicas[from]
		if rep == nil {
			rep = &replica{entries: map[string]*entry{}}
			r.replicas[from] = rep
		}
		if s.Part == 0 {
			rep.pending, rep.parts = &s, nil
		} else if rep.pending == nil || rep.pending.ID != s.ID || s.Part != rep.pending.Part+1 {
			rep.pending, rep.parts = nil, nil
			return
		}
		rep.pending.Part = s.Part
		rep.parts = append(rep.parts, s.Entries...)
		if s.Part == s.Parts-1 {
			r.replaceLocked(from, rep, s.Epoch, s.Version, rep.parts)
			rep.pending, rep.parts = nil, nil
		}
	}
}

// upLocked reports whether node is up. Checked under the tracker's lock,
// which the node's down event needs too, it keeps a node's entries from
// arriving after that event removed them (they would never leave): a node
// that is heard again sends them with a snapshot.
func (r *replicator) upLocked(node string) bool { return r.m.Up(node) }

// applyLocked applies one op of node to its replica and the topics.
func (r *replicator) applyLocked(node string, rep *replica, o op) {
	if o.Leave {
		if e := rep.entries[o.Ref]; e != nil {
			delete(rep.entries, o.Ref)
			r.t.leaveLocked(e)
		}
		return
	}
	if _, ok := rep.entries[o.Ref]; ok {
		return
	}
	e := &entry{node: node, topic: o.Topic, key: o.Key, meta: Meta{Ref: o.Ref, PrevRef: o.Prev, Data: o.Meta}}
	rep.entries[o.Ref] = e
	r.t.joinLocked(e)
}

// replaceLocked makes a snapshot the node's replica: entries it no longer
// has leave, new ones join.
func (r *replicator) replaceLocked(node string, rep *replica, epoch string, version uint64, entries []op) {
	keep := make(map[string]bool, len(entries))
	for _, o := range entries {
		keep[o.Ref] = true
	}
	for ref, e := range rep.entries {
		if !keep[ref] {
			delete(rep.entries, ref)
			r.t.leaveLocked(e)
		}
	}
	for _, o := range entries {
		r.applyLocked(node, rep, o)
	}
	rep.epoch, rep.version, rep.staleV = epoch, version, 0
}

// nodeEvent drops the entries of a node that went down and asks a node
// that came up for its entries.
func (r *replicator) nodeEvent(ev cluster.NodeEvent) {
	r.t.mu.Lock()
	defer r.t.mu.Unlock()
	rep := r.replicas[ev.Node]
	if !ev.Up {
		if rep != nil {
			delete(r.replicas, ev.Node)
			for _, e := range rep.entries {
				r.t.leaveLocked(e)
			}
		}
		return
	}
	if rep == nil {
		rep = &replica{entries: map[string]*entry{}}
		r.replicas[ev.Node] = rep
	}
	r.askLocked(ev.Node, rep)
}

// close stops the sender after publishing what is left.
func (r *replicator) close(ctx context.Context) error {
	r.cancel()
	select {
	case <-r.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	r.round(ctx)
	return nil
}
