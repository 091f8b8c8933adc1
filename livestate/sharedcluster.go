package livestate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/seance-go/seance/cluster"
	"github.com/seance-go/seance/phx"
)

// frameEvent is the broadcast event that carries a shared topic's owner's
// updates to the other nodes (on the topic itself, so it travels with the
// topic's subscription). Applications must not broadcast it.
const frameEvent = "seance:lvs_frame"

// sharedCluster makes a shared handler's topics one state across the
// nodes (Config.SharedLeaser): per topic, the node holding the lease owns
// the state; the others forward to it.
type sharedCluster struct {
	node    *cluster.Node
	leaser  cluster.Leaser
	service string
	fence   cluster.Fence
	// own is how this node's frames begin ({"n":<name>,): they come back
	// through the topic's claim and are dropped before being queued.
	own []byte
	// snaps, when set, stores the owners' states (Config.SharedSnapshots).
	snaps    cluster.SnapshotStore
	snapOpts SnapshotOptions
	// confirm: Config.SharedConfirm, defaulted (negative: off).
	confirm time.Duration
}

// ownFrames returns how the frames of node name begin, as json.Marshal
// writes a frame.
func ownFrames(name string) []byte {
	n, _ := json.Marshal(name)
	return append(append([]byte(`{"n":`), n...), ',')
}

// frame is one update of the owner, as the other nodes receive it.
type frame struct {
	Node    string          `json:"n"`
	Token   uint64          `json:"t"`
	Seq     uint64          `json:"s"`
	Event   string          `json:"e"`
	Payload json.RawMessage `json:"p"`
	Change  bool            `json:"c,omitempty"` // a full state: every member takes it
	Version int             `json:"v"`           // the topic's version after it
	// Beat: no update, the owner's word that Seq is its last one.
	Beat bool `json:"b,omitempty"`
}

// request is what a node asks a topic's owner.
type request struct {
	Op      string          `json:"op"` // "event" or "state"
	Topic   string          `json:"topic"`
	Event   string          `json:"event,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// response is the owner's answer: for "state", the state:change and the
// seq it is current at; for "event", what goes to the sender only.
type response struct {
	Token   uint64          `json:"t"`
	Seq     uint64          `json:"s"`
	Event   string          `json:"e,omitempty"`
	Payload json.RawMessage `json:"p,omitempty"`
	Version int             `json:"v"`
	Emits   []emitWire      `json:"emits,omitempty"`
	Reply   *replyWire      `json:"reply,omitempty"`
	Err     string          `json:"err,omitempty"`
}

type emitWire struct {
	Event   string          `json:"e"`
	Payload json.RawMessage `json:"p"`
}

type replyWire struct {
	Status   string          `json:"status"`
	Response json.RawMessage `json:"response"`
}

// defaultSharedConfirm is Config.SharedConfirm's default.
const defaultSharedConfirm = time.Second

// errNotOwner: a request reached a node that does not own the topic.
var errNotOwner = errors.New("livestate: not the owner of the shared topic")

// clusterRole is a topic's place in the cluster; guarded by ts.mu.
type clusterRole struct {
	elected bool          // owner or follower (else: elect at the next need)
	owner   bool          // this node holds lease
	lease   cluster.Lease // the owner's lease (owner), the owner's (follower)
	seq     uint64        // updates sent (owner) or forwarded (follower) under lease.Token
	stop    context.CancelFunc
	done    chan struct{}
	renewed *atomic.Pointer[cluster.Lease] // the owner's lease as last renewed
}

// cluster implements clustered: called by Registry.Handle before the
// handler serves anything.
func (h *sharedHandler[S]) cluster(n *cluster.Node, cfg *Config, service string) {
	h.cl = &sharedCluster{node: n, leaser: cfg.SharedLeaser, service: service, own: ownFrames(n.Name()),
		snaps: cfg.SharedSnapshots, snapOpts: cfg.SharedSnapshot, confirm: cfg.SharedConfirm}
	if h.cl.confirm == 0 {
		h.cl.confirm = defaultSharedConfirm
	}
	h.cl.snapOpts.defaults()
	n.Handle(service, h.serve)
}

// forget ends the topic's role, remembering the token and seq it was at.
// Called with ts.mu held.
func (ts *topicState[S]) forget() {
	if ts.role.elected {
		ts.lastToken, ts.lastSeq = ts.role.lease.Token, ts.role.seq
	}
	ts.role = clusterRole{}
}

// waitSubscribed waits until the endpoint's PubSub subscription of topic
// is confirmed, at most d.
func waitSubscribed(ctx context.Context, ep *phx.Endpoint, topic string, d time.Duration) error {
	if ep.Subscribed(topic) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for !ep.Subscribed(topic) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// leaseName is the lease of a shared topic.
func leaseName(topic string) string { return "livestate:" + topic }

// startElect begins an election of the topic unless one is running or the
// topic has a role: the store's call runs on a goroutine of its own, without
// ts.mu, so that frames from the owner and client events are not held up by
// a slow or stalled lease store. When it ends, a new owner sends its state to
// every member and a follower fetches it for its members when resync is set
// (else the new owner's first frame brings it); a failed election is retried
// after TTL/3. The returned channel is closed when the election ended.
// Called with ts.mu held.
func (h *sharedHandler[S]) startElect(ts *topicState[S], resync bool) <-chan struct{} {
	if ts.electing != nil {
		ts.electResync = ts.electResync || resync
		return ts.electing
	}
	ch := make(chan struct{})
	if ts.role.elected {
		close(ch)
		return ch
	}
	if ts.retry != nil {
		ts.retry.Stop()
		ts.retry = nil
	}
	ts.electing, ts.electResync = ch, resync
	epoch := ts.epoch
	go func() {
		defer close(ch)
		since := time.Now() // the lease lasts at least TTL from here
		ctx, cancel := context.WithTimeout(context.Background(), h.cl.leaser.TTL())
		defer cancel()
		l, err := h.cl.leaser.Acquire(ctx, leaseName(ts.name), h.cl.node.Name())
		ts.mu.Lock()
		if ts.epoch != epoch {
			// Resigned meanwhile: a lease won now is given back (resign
			// waits for this).
			ts.mu.Unlock()
			if err == nil {
				h.release(ts, l)
			}
			return
		}
		defer ts.mu.Unlock()
		resync := ts.electResync
		ts.electing, ts.electResync = nil, false
		if err := h.elected(ts, l, err, since); err != nil {
			ts.ep.Logger().Warn("livestate: shared topic election failed; retried", "topic", ts.name, "error", err)
			h.retryElect(ts)
			return
		}
		if ts.role.owner {
			h.takeOver(ctx, ts)
		} else if resync {
			rctx, rcancel := context.WithTimeout(context.Background(), h.cl.node.Options().RelayTimeout)
			defer rcancel()
			h.resync(rctx, ts, false)
		}
	}()
	return ch
}

// elected makes this node the topic's owner or a follower, after the
// lease's Acquire (sent at since) returned l and err. Called with ts.mu
// held.
func (h *sharedHandler[S]) elected(ts *topicState[S], l cluster.Lease, err error, since time.Time) error {
	switch {
	case err == nil:
		h.cl.fence.Admit(ts.name, l.Token)
		ts.role = clusterRole{elected: true, owner: true, lease: l}
		if l.Token == ts.lastToken {
			// The same holding again (after a stall): its frames go on
			// from the last seq, so that the other nodes take them.
			ts.role.seq = ts.lastSeq
		}
		ts.ready = false
	case errors.Is(err, cluster.ErrHeld):
		r := clusterRole{elected: true, lease: l}
		if l.Token == ts.role.lease.Token {
			// Frames of this owner came before the answer: go on from them.
			r.seq = ts.role.seq
		}
		ts.role = r
	default:
		return fmt.Errorf("livestate: shared topic ownership: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	ts.role.stop, ts.role.done = cancel, done
	if ts.role.owner {
		ts.role.renewed = new(atomic.Pointer[cluster.Lease])
		ts.role.renewed.Store(&l)
		go h.renew(ctx, ts, ts.role.renewed, since, done)
	} else {
		go h.watch(ctx, ts, done)
	}
	return nil
}

// release gives a lease back, bounded by TTL.
func (h *sharedHandler[S]) release(ts *topicState[S], l cluster.Lease) {
	ctx, cancel := context.WithTimeout(context.Background(), h.cl.leaser.TTL())
	defer cancel()
	if err := h.cl.leaser.Release(ctx, l); err != nil && !errors.Is(err, cluster.ErrLost) {
		ts.ep.Logger().Warn("livestate: shared topic lease not released", "topic", ts.name, "error", err)
	}
}

// resign ends the topic's role (its goroutine stopped, the lease released
// when owned). Called with ts.mu held.
func (h *sharedHandler[S]) resign(ts *topicState[S]) (wait func()) {
	r := ts.role
	// The owner's last state, for the next owner (stored before the
	// lease is released).
	var final *cluster.Snapshot
	var writing chan struct{} // the writer of older snapshots, if running
	if r.owner && ts.ready && h.cl.snaps != nil && (ts.snap.unsaved > 0 || ts.snap.pending != nil) {
		if s, ok := h.takeSnapshot(ts); ok {
			final = &s
		}
		ts.snap.pending = nil
		if ts.snap.writing {
			writing = ts.snap.idle
		}
	}
	ts.forget()
	if ts.retry != nil {
		ts.retry.Stop()
		ts.retry = nil
	}
	for _, t := range []**time.Timer{&ts.beat, &ts.refetch} {
		if *t != nil {
			(*t).Stop()
			*t = nil
		}
	}
	// An election running now is void: it gives back what it wins.
	ts.epoch++
	electing := ts.electing
	ts.electing, ts.electResync = nil, false
	if !r.elected {
		if electing == nil {
			return func() {}
		}
		return func() { <-electing }
	}
	r.stop()
	return func() {
		if electing != nil {
			<-electing
		}
		<-r.done
		if writing != nil {
			<-writing
		}
		if final != nil {
			h.saveSnapshot(ts.name, *final, ts)
		}
		if r.owner {
			h.release(ts, *r.renewed.Load())
		}
	}
}

// renew keeps the owner's lease, acquired at or after since. The lease
// lasts at least TTL from the sending of its last successful Acquire or
// Renew; the owner stops acting when two thirds of it passed without a
// successful renewal (or at once when the lease is lost), so that it has
// stopped before another node can acquire the lease.
func (h *sharedHandler[S]) renew(ctx context.Context, ts *topicState[S], cur *atomic.Pointer[cluster.Lease], since time.Time, done chan struct{}) {
	defer close(done)
	l := *cur.Load()
	ttl := h.cl.leaser.TTL()
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		deadline := since.Add(ttl * 2 / 3)
		sent := time.Now()
		var err error
		if sent.Before(deadline) {
			rctx, cancel := context.WithDeadline(ctx, deadline)
			var nl cluster.Lease
			nl, err = h.cl.leaser.Renew(rctx, l)
			cancel()
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				l, since = nl, sent
				cur.Store(&nl)
				continue
			}
			if !errors.Is(err, cluster.ErrLost) && time.Now().Before(deadline) {
				continue // retried at the next tick, still in time
			}
		} else {
			err = context.DeadlineExceeded
		}
		ts.ep.Logger().Warn("livestate: shared topic ownership lost", "topic", ts.name, "error", err)
		go h.demote(ts, done)
		return
	}
}

// demote drops the state of a topic whose lease was lost and elects again:
// the node becomes a follower of the new owner (or owner again).
func (h *sharedHandler[S]) demote(ts *topicState[S], done chan struct{}) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.role.done != done {
		return // resigned meanwhile
	}
	ts.role.stop()
	ts.forget()
	var zero S
	ts.state, ts.ready, ts.change = zero, false, nil
	// The members' state is of the lost holding: they take no update
	// until they have the next owner's state (a resync, or its
	// state:change).
	for _, m := range ts.members {
		m.hasState = false
	}
	if len(ts.members) > 0 {
		h.startElect(ts, true)
	}
}

// retryElect elects again after TTL/3 (and again, while it fails), unless
// the topic got a role or was resigned meanwhile. Called with ts.mu held.
func (h *sharedHandler[S]) retryElect(ts *topicState[S]) {
	if ts.retry != nil {
		ts.retry.Stop()
	}
	var t *time.Timer
	t = time.AfterFunc(h.cl.leaser.TTL()/3, func() {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		if ts.retry != t || ts.role.elected || len(ts.members) == 0 {
			return
		}
		ts.retry = nil
		h.startElect(ts, true)
	})
	ts.retry = t
}

// watch follows the owner's lease: when it is free (released, or expired
// with its owner gone) this node tries to take it over.
func (h *sharedHandler[S]) watch(ctx context.Context, ts *topicState[S], done chan struct{}) {
	defer close(done)
	ch, err := h.cl.leaser.Watch(ctx, leaseName(ts.name))
	if err != nil {
		ts.ep.Logger().Warn("livestate: shared topic lease not watched", "topic", ts.name, "error", err)
		return
	}
	for l := range ch {
		ts.mu.Lock()
		if ts.role.done != done {
			ts.mu.Unlock()
			return
		}
		if l.Held() && l.Token <= ts.role.lease.Token {
			ts.mu.Unlock()
			continue
		}
		// The owner changed or is gone: elect again.
		ts.role.stop()
		ts.forget()
		if len(ts.members) > 0 {
			h.startElect(ts, false)
		}
		ts.mu.Unlock()
		return
	}
}

// takeOver makes a new owner's state: Init again, and its first act is a
// state:change to every member on every node. Called with ts.mu held.
func (h *sharedHandler[S]) takeOver(ctx context.Context, ts *topicState[S]) {
	if len(ts.members) == 0 {
		return
	}
	for _, m := range ts.members {
		m.hasState = false
	}
	first := ts.members[0]
	if !h.init(ctx, ts, first) { // sends the state to the other members
		return
	}
	h.sendState(ts, first)
	h.sendChangeFrame(ts)
}

// needRole starts an election when the topic has no role (startElect).
// When no owner is known from its updates, it waits, without ts.mu, until
// the election ended or ctx is done; else the caller goes on with the
// owner known. It reports whether an owner is known. Called with ts.mu
// held, which it releases while it waits.
func (h *sharedHandler[S]) needRole(ctx context.Context, ts *topicState[S], resync bool) bool {
	if ts.role.elected {
		return true
	}
	ch := h.startElect(ts, resync)
	if known := ts.role.lease.Holder; known != "" && known != h.cl.node.Name() {
		return true
	}
	ts.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
	}
	ts.mu.Lock()
	return ts.role.elected || ts.role.lease.Holder != ""
}

// clusterJoin gives a new member of a clustered topic its state: from the
// owner when another node owns the topic. Called with ts.mu held, which it
// releases while an election runs.
func (h *sharedHandler[S]) clusterJoin(ctx context.Context, ts *topicState[S], m *member[S]) error {
	if !ts.role.elected {
		if ts.after != nil {
			select {
			case <-ts.after: // the previous holding of this node is released
				ts.after = nil
			case <-ctx.Done():
				h.pushError(m.sock.ch, ctx.Err())
				return nil
			}
		}
		// The other members, if any, lost their state with the last
		// holding: the election's resync gives it back.
		if !h.needRole(ctx, ts, len(ts.members) > 1) {
			ts.ep.Logger().Warn("livestate: shared topic has no owner now", "topic", ts.name)
			h.pushError(m.sock.ch, errors.New("the shared state is not available now; try again"))
			return nil
		}
		if m.hasState {
			return nil // the new owner's state came meanwhile
		}
	}
	if !ts.role.owner {
		// The owner's updates come through the topic's subscription: wait
		// for it before taking the state, so that none is missed between.
		if err := waitSubscribed(ctx, ts.ep, ts.name, h.cl.node.Options().RelayTimeout); err != nil {
			ts.ep.Logger().Warn("livestate: shared topic not subscribed yet; updates may be missed until the next state:change", "topic", ts.name, "error", err)
		}
		return h.clusterRefreshErr(ctx, ts, m)
	}
	if !ts.ready {
		if !h.init(ctx, ts, m) {
			return nil
		}
		h.sendChangeFrame(ts) // members of other nodes waiting for it
	}
	return h.sendState(ts, m)
}

// clusterRefresh answers lvs_refresh on a node that does not own the
// topic. Called with ts.mu held.
func (h *sharedHandler[S]) clusterRefresh(ctx context.Context, ts *topicState[S], m *member[S]) (*phx.Reply, error) {
	if !ts.role.elected {
		if err := h.clusterJoin(ctx, ts, m); err != nil {
			return nil, err
		}
		return nil, nil
	}
	if err := h.clusterRefreshErr(ctx, ts, m); err != nil {
		return nil, err
	}
	return nil, nil
}

// clusterRefreshErr fetches the state from the owner for m; a failure is
// logged and pushed to m as an error event.
func (h *sharedHandler[S]) clusterRefreshErr(ctx context.Context, ts *topicState[S], m *member[S]) error {
	rctx, cancel := context.WithTimeout(ctx, h.cl.node.Options().RelayTimeout)
	defer cancel()
	if err := h.remoteState(rctx, ts, m); err != nil {
		ts.ep.Logger().Warn("livestate: shared state not fetched from the owner", "topic", ts.name, "owner", ts.role.lease.Holder, "error", err)
		h.pushError(m.sock.ch, errors.New("the shared state is not available now; it comes with the next update"))
	}
	return nil
}

// sendChangeFrame sends the current state to the members of the other
// nodes. Called with ts.mu held, on the owner.
func (h *sharedHandler[S]) sendChangeFrame(ts *topicState[S]) {
	data, err := ts.sync.full(&ts.state)
	if err != nil {
		ts.ep.Logger().Error("livestate: shared state not synced", "topic", ts.name, "error", err)
		return
	}
	ev, payload := h.opts.Messages.Change(data, ts.sync.version)
	h.sendFrame(ts, ev, payload, true)
}

// sendFrame publishes an update of the owner to the other nodes. Called
// with ts.mu held.
func (h *sharedHandler[S]) sendFrame(ts *topicState[S], event string, payload []byte, change bool) {
	if h.cl == nil || !ts.role.owner {
		return
	}
	ts.role.seq++
	ts.saw(ts.sync.version)
	f := frame{Node: h.cl.node.Name(), Token: ts.role.lease.Token, Seq: ts.role.seq, Event: event, Payload: payload, Change: change, Version: ts.sync.version}
	if _, err := ts.ep.Broadcast(context.Background(), ts.name, frameEvent, f); err != nil {
		ts.ep.Logger().Warn("livestate: shared topic update not sent to other nodes", "topic", ts.name, "error", err)
	}
	h.armBeat(ts)
}

// clusterMessage handles a broadcast of a clustered topic. Called with
// ts.mu held.
func (h *sharedHandler[S]) clusterMessage(ts *topicState[S], b *phx.Broadcast) {
	if b.Event == frameEvent {
		h.receiveFrame(ts, b)
		return
	}
	if h.mh == nil {
		// Broadcasts go to the clients as they are, on every node.
		p, err := phx.Prepare(ts.name, b.Event, b.Payload)
		if err == nil {
			ts.push(p)
		}
		return
	}
	if ts.role.owner && ts.ready {
		h.runMessage(ts, b)
	}
	// Other nodes: the owner receives the broadcast too and applies it.
}

// receiveFrame forwards an owner's update to the local members. Called
// with ts.mu held.
func (h *sharedHandler[S]) receiveFrame(ts *topicState[S], b *phx.Broadcast) {
	var f frame
	if err := json.Unmarshal(b.Payload.Data, &f); err != nil {
		ts.ep.Logger().Warn("livestate: malformed shared topic frame", "topic", ts.name, "error", err)
		return
	}
	if f.Node == h.cl.node.Name() {
		return // our own, delivered locally too
	}
	if !h.cl.fence.Admit(ts.name, f.Token) {
		ts.ep.Logger().Warn("livestate: shared topic frame of a stale owner refused", "topic", ts.name, "from", f.Node, "token", f.Token)
		return
	}
	if ts.role.owner {
		// Another node holds a newer lease: ours is lost.
		done := ts.role.done
		go h.demote(ts, done)
		return
	}
	if f.Beat {
		h.receiveBeat(ts, &f)
		return
	}
	missed := false
	if f.Token != ts.role.lease.Token {
		// A new owner: its first frame is a state:change, unless this
		// node missed it (cut off meanwhile).
		missed = !f.Change
		ts.follow(&f)
	}
	p, err := phx.Prepare(ts.name, f.Event, phx.Payload{Data: f.Payload})
	if err != nil {
		return
	}
	ts.saw(f.Version)
	if missed {
		// The members' state is not the new owner's: none of its patches
		// apply to it. They get its current state instead.
		ts.role.seq = f.Seq
		for _, m := range ts.members {
			m.hasState = false
		}
		ctx, cancel := context.WithTimeout(context.Background(), h.cl.node.Options().RelayTimeout)
		defer cancel()
		h.resync(ctx, ts, false)
		return
	}
	if f.Seq <= ts.role.seq {
		// Sent before the state a member fetched: only members with an
		// older state need it.
		for _, m := range ts.members {
			if (m.hasState || f.Change) && m.from < f.Seq {
				m.hasState = true
				m.from = f.Seq
				m.sock.ch.PushPrepared(p)
			}
		}
		return
	}
	gap := ts.role.seq != 0 && f.Seq != ts.role.seq+1
	ts.role.seq = max(ts.role.seq, f.Seq)
	for _, m := range ts.members {
		if f.Change || (m.hasState && m.from < f.Seq) {
			m.hasState, m.from = true, f.Seq
			m.sock.ch.PushPrepared(p)
		}
	}
	if gap && !f.Change {
		// Updates were lost between the nodes: give every member the
		// current state.
		ctx, cancel := context.WithTimeout(context.Background(), h.cl.node.Options().RelayTimeout)
		defer cancel()
		h.resync(ctx, ts, true)
	}
}

// beats is how many times the owner tells its last update: after
// SharedConfirm, then 2, 4 and 8 times that later (1 s, 3 s, 7 s and 15 s
// after the update by default), so that a node whose link was down a while
// (the adapter reconnecting) still hears of what it lost.
const beats = 4

// armBeat makes the owner tell the other nodes, Config.SharedConfirm
// from now, which update it sent last, and again later (beats). PubSub
// adapters deliver at most once: without it, a node that lost the owner's
// last updates would show its clients an old state until the next update.
// Called with ts.mu held, on the owner, after each update.
func (h *sharedHandler[S]) armBeat(ts *topicState[S]) {
	if h.cl.confirm <= 0 {
		return
	}
	if ts.beat != nil {
		if ts.beatN == 0 {
			return // the first one is still to come
		}
		ts.beat.Stop()
	}
	h.beatAfter(ts, h.cl.confirm, 0)
}

// beatAfter tells the owner's last update after d, as the topic's beat
// number n. Called with ts.mu held.
func (h *sharedHandler[S]) beatAfter(ts *topicState[S], d time.Duration, n int) {
	epoch, token := ts.epoch, ts.role.lease.Token
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		if ts.beat != t {
			return // stopped, or a newer one
		}
		ts.beat = nil
		if ts.epoch != epoch || !ts.role.owner || ts.role.lease.Token != token {
			return
		}
		f := frame{Node: h.cl.node.Name(), Token: token, Seq: ts.role.seq, Beat: true, Version: ts.sync.version}
		if _, err := ts.ep.Broadcast(context.Background(), ts.name, frameEvent, f); err != nil {
			ts.ep.Logger().Warn("livestate: shared topic's last update not confirmed to other nodes", "topic", ts.name, "error", err)
		}
		if n+1 < beats {
			h.beatAfter(ts, 2*d, n+1)
		}
	})
	ts.beat, ts.beatN = t, n
}

// follow takes f's sender as the topic's owner, from before its first
// update. Called with ts.mu held.
func (ts *topicState[S]) follow(f *frame) {
	ts.role.lease = cluster.Lease{Name: leaseName(ts.name), Holder: f.Node, Token: f.Token}
	ts.role.seq = 0
	for _, m := range ts.members {
		m.from = 0
	}
}

// receiveBeat handles the owner's word of its last update: when this node
// has not received it (lost between the nodes), its members get the
// owner's state. Called with ts.mu held, on another node.
func (h *sharedHandler[S]) receiveBeat(ts *topicState[S], f *frame) {
	all := false
	switch {
	case f.Token != ts.role.lease.Token:
		// A newer owner none of whose updates came: the members' state
		// is not its.
		ts.follow(f)
		for _, m := range ts.members {
			m.hasState = false
		}
		all = true
	case f.Seq > ts.role.seq:
		ts.ep.Logger().Warn("livestate: shared topic updates lost between the nodes; the members get the owner's state", "topic", ts.name, "owner", f.Node, "have", ts.role.seq, "sent", f.Seq)
		all = true
	}
	if !all && !ts.lacking() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.cl.node.Options().RelayTimeout)
	defer cancel()
	h.resync(ctx, ts, all)
}

// lacking reports whether a member has no state. Called with ts.mu held.
func (ts *topicState[S]) lacking() bool {
	for _, m := range ts.members {
		if !m.hasState {
			return true
		}
	}
	return false
}

// armRefetch fetches the owner's state again, Config.SharedConfirm from
// now (at least), for the members still without one after a failed fetch.
// Called with ts.mu held, on another node.
func (h *sharedHandler[S]) armRefetch(ts *topicState[S]) {
	if ts.refetch != nil {
		return
	}
	epoch := ts.epoch
	ts.refetch = time.AfterFunc(max(h.cl.confirm, time.Second), func() {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		ts.refetch = nil
		if ts.epoch != epoch || ts.role.owner || ts.role.lease.Holder == "" || !ts.lacking() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), h.cl.node.Options().RelayTimeout)
		defer cancel()
		h.resync(ctx, ts, false)
	})
}

// resync asks the owner for the current state and sends it to every
// member (all), or to those without a state. When that fails, the members
// without a state get it later (armRefetch). Called with ts.mu held.
func (h *sharedHandler[S]) resync(ctx context.Context, ts *topicState[S], all bool) {
	var to []*member[S]
	for _, m := range ts.members {
		if all || !m.hasState {
			to = append(to, m)
		}
	}
	if len(to) == 0 {
		return
	}
	if err := h.remoteState(ctx, ts, to...); err != nil {
		ts.ep.Logger().Warn("livestate: shared state not fetched from the owner", "topic", ts.name, "owner", ts.role.lease.Holder, "error", err)
		if ts.lacking() {
			h.armRefetch(ts)
		}
	}
}

// remoteState gets the current state from the owner and pushes it to ms.
// Called with ts.mu held (the owner's answer does not need this node).
func (h *sharedHandler[S]) remoteState(ctx context.Context, ts *topicState[S], ms ...*member[S]) error {
	for range 3 {
		r, err := h.ask(ctx, ts.role.lease.Holder, request{Op: "state", Topic: ts.name})
		if err != nil {
			return err
		}
		if r.Token == ts.role.lease.Token && r.Seq < ts.role.seq {
			continue // updates forwarded meanwhile are not in it: ask again
		}
		if r.Token != ts.role.lease.Token {
			if !h.cl.fence.Admit(ts.name, r.Token) {
				continue
			}
			ts.role.lease.Token, ts.role.seq = r.Token, r.Seq
		}
		p, err := phx.Prepare(ts.name, r.Event, phx.Payload{Data: r.Payload})
		if err != nil {
			return err
		}
		ts.role.seq = max(ts.role.seq, r.Seq)
		ts.saw(r.Version)
		for _, m := range ms {
			m.hasState, m.from = true, r.Seq
			m.sock.ch.PushPrepared(p)
		}
		return nil
	}
	return errors.New("livestate: the shared state kept moving")
}

// ask sends a request to the topic's owner.
func (h *sharedHandler[S]) ask(ctx context.Context, owner string, req request) (*response, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	out, err := h.cl.node.Request(ctx, owner, h.cl.service, body)
	if err != nil {
		return nil, err
	}
	var r response
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, err
	}
	switch r.Err {
	case "":
	case errNotOwner.Error():
		return nil, errNotOwner
	default:
		return nil, errors.New(r.Err)
	}
	return &r, nil
}

// serve answers another node's request, on the owner.
func (h *sharedHandler[S]) serve(ctx context.Context, from string, body []byte) ([]byte, error) {
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	h.mu.Lock()
	ts := h.topics[req.Topic]
	h.mu.Unlock()
	if ts == nil {
		return json.Marshal(response{Err: errNotOwner.Error()})
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if !ts.role.owner || !ts.ready {
		return json.Marshal(response{Err: errNotOwner.Error()})
	}
	r := response{Token: ts.role.lease.Token}
	switch req.Op {
	case "state":
		data, err := ts.sync.full(&ts.state)
		if err != nil {
			return nil, err
		}
		ev, payload := h.opts.Messages.Change(data, ts.sync.version)
		r.Event, r.Payload, r.Version = ev, payload, ts.sync.version
	case "event":
		var panicked any
		func() {
			defer func() {
				// guarded rolled the state back; the sender's node
				// answers with an error (no channel of ours to crash).
				if panicked = recover(); panicked != nil {
					ts.ep.Logger().Error("livestate: HandleEvent panicked for a client of another node; state rolled back", "topic", ts.name, "from", from, "panic", panicked, "stack", string(debug.Stack()))
				}
			}()
			h.serveEvent(ctx, ts, req, &r)
		}()
		if panicked != nil {
			r = response{Token: ts.role.lease.Token, Err: "internal error"}
		}
	default:
		return nil, fmt.Errorf("livestate: unknown shared request %q", req.Op)
	}
	r.Seq = ts.role.seq
	return json.Marshal(r)
}

// serveEvent runs a forwarded client event on the owner. Called with ts.mu
// held.
func (h *sharedHandler[S]) serveEvent(ctx context.Context, ts *topicState[S], req request, r *response) {
	s := &Socket{topic: ts.name, ep: ts.ep}
	s.begin(phx.Ref{}, true)
	name, payload, _ := h.opts.Messages.ClientEvent(req.Event, phx.Payload{Data: req.Payload})
	err := h.guarded(ts, func() error { return h.impl.HandleEvent(ctx, s, name, payload, &ts.state) })
	for _, e := range s.emits {
		ev, p := h.opts.Messages.Emit(e.name, e.detail)
		data, merr := json.Marshal(p)
		if merr == nil {
			r.Emits = append(r.Emits, emitWire{ev, data})
		}
	}
	if err != nil {
		ev, p := h.opts.Messages.Error(err)
		if data, merr := json.Marshal(p); merr == nil {
			r.Emits = append(r.Emits, emitWire{ev, data})
		}
	}
	h.publishUpdate(ts, nil, err)
	switch {
	case s.reply != nil:
		data, merr := json.Marshal(s.reply.Response)
		if merr != nil {
			data, _ = json.Marshal(map[string]string{"reason": "reply could not be encoded"})
		}
		r.Reply = &replyWire{Status: s.reply.Status, Response: data}
	case err != nil:
		data, _ := json.Marshal(map[string]string{"reason": err.Error()})
		r.Reply = &replyWire{Status: "error", Response: data}
	}
}

// clusterEvent handles a client event of a clustered topic. On the owner
// the election and the apply are one critical section: a lease lost
// meanwhile cannot leave the event without state (its demotion waits for
// the event's update to be sent). Elsewhere the event is forwarded to the
// owner; when that node answers that it no longer owns the topic, it is
// forwarded once more to the lease's current holder. When no owner can
// apply it, the sender gets an `error` event and the reply
// {"status":"error","response":{"reason":"owner unavailable"}}: the event
// was not applied, and the client may push it again. Called without
// ts.mu.
func (h *sharedHandler[S]) clusterEvent(ctx context.Context, ts *topicState[S], m *member[S], msg *phx.Message, name string, payload phx.Payload) (*phx.Reply, error) {
	ch := m.sock.ch
	ts.mu.Lock()
	// After a lost holding or a failed election: the members get the state
	// of the owner (this node's Init, or the other's). When the owner is
	// known from its updates, the event goes to it without waiting for the
	// lease store.
	h.needRole(ctx, ts, true)
	if ts.role.owner {
		defer ts.mu.Unlock()
		if h.beforeApply != nil {
			h.beforeApply()
		}
		return h.applyEvent(ctx, ts, m, msg, name, payload)
	}
	holder := ts.role.lease.Holder
	ts.mu.Unlock()
	unavailable := func() (*phx.Reply, error) {
		h.pushError(ch, errors.New("the shared state is not available now; try again"))
		return phx.Err(map[string]string{"reason": "owner unavailable"}), nil
	}
	if holder == "" {
		return unavailable()
	}
	if h.beforeForward != nil {
		h.beforeForward()
	}
	req := request{Op: "event", Topic: ts.name, Event: msg.Event, Payload: msg.Payload.Data}
	r, err := h.ask(ctx, holder, req)
	if errors.Is(err, errNotOwner) {
		// The owner changed and this node has not seen it yet: ask the
		// lease's holder now.
		gctx, cancel := context.WithTimeout(ctx, h.cl.leaser.TTL())
		l, gerr := h.cl.leaser.Get(gctx, leaseName(ts.name))
		cancel()
		if gerr == nil && l.Held() && l.Holder != holder && l.Holder != h.cl.node.Name() {
			holder = l.Holder
			r, err = h.ask(ctx, holder, req)
		}
	}
	if err != nil {
		ts.ep.Logger().Warn("livestate: client event not applied by the shared topic's owner", "topic", ts.name, "owner", holder, "error", err)
		return unavailable()
	}
	for _, e := range r.Emits {
		ch.Push(e.Event, json.RawMessage(e.Payload))
	}
	if r.Reply != nil {
		return &phx.Reply{Status: r.Reply.Status, Response: json.RawMessage(r.Reply.Response)}, nil
	}
	return nil, nil
}
