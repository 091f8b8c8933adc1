package livestate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/seance-go/seance/phx"
)

// SharedChannel is a LiveState channel kind whose state is shared by every
// client joined to the same topic: a chat room, a board, a dashboard. One
// value serves all topics of its route ([NewShared]).
//
// The topic's state is made by Init when its first client joins and lives
// while clients are joined; when the last one leaves it is dropped (after
// [SharedCloser].CloseTopic, if implemented) and the next join calls Init
// again. Changes are serialised per topic: HandleEvent and HandleMessage
// run one at a time for a topic, whichever client they come from, and each
// change is encoded and diffed once — the same patch frame is queued to
// every client of the topic, in order.
//
// A HandleEvent that panics crashes the channel of the client it runs for
// (as a per-join channel does, which loses its state with it); a
// HandleMessage that panics runs for no client and is logged. Either way
// the topic's state is rolled back to what the clients last received: nothing of the
// half-made change is sent and the version does not move. A [Doc] undoes
// its edits; a plain struct state (its encoded fields booleans, numbers,
// strings or plain structs, without custom marshalling) is restored from
// the copy it is diffed against; any other state is decoded again from
// the JSON last sent, so it should survive an encoding/json round trip.
//
// # Several nodes
//
// With a PubSub adapter and [Config].SharedLeaser, a topic is one state in
// the whole cluster. The node holding the topic's lease (taken by a node
// when its first client joins, renewed every TTL/3, released after the
// last local client left and CloseTopic returned) owns the state: it runs
// Init, every HandleEvent (client events of other nodes are forwarded to
// it over cluster.Node and the sender gets its reply, emits and errors)
// and every HandleMessage (broadcasts reach it from any node), in one
// order and one version sequence. Each update is encoded once and reaches
// the other nodes as one PubSub message stamped with the lease's fencing
// token; each node queues the same frame to its clients. Late joiners on
// any node get the current state and version from the owner. A node whose
// lease was lost stops acting at once, and frames with an older token than
// one already seen are dropped (fencing), so a stalled owner cannot
// interleave with its successor. Elections run aside from the topic's
// delivery: while a node's lease store is slow or stalled, the owner's
// updates still reach its clients and their events still go to the owner
// known from its updates. PubSub adapters deliver at most once, so the
// owner tells the other nodes which update it sent last
// ([Config].SharedConfirm after an update); a node that lost updates
// (a gap in the sequence, or a last update that never came) gives its
// clients the owner's state as a state:change.
//
// When the owner dies, its lease expires and another node with clients of
// the topic takes it within the lease TTL plus the watch interval
// (defaults 3 s + 0.3 s): the new owner runs Init again and its first act
// is a state:change to every client, which phx-live-state accepts at any
// version; its version is the one after the last version the new owner
// saw from the old one, so the topic's versions go on and no version is
// published by two owners. What the dead owner had not saved is lost:
// persist what must survive in HandleEvent/HandleMessage or CloseTopic and
// load it in Init, or set [Config].SharedSnapshots: the owner then stores
// its state and version in the engine now and then ([SnapshotOptions]:
// after at most Every updates or Interval, from a goroutine of its own, and
// once more before it releases the lease), and a new owner starts from the
// last snapshot instead of Init (the state must survive an encoding/json
// round trip); Init runs when there is none. A snapshot outlives the
// topic's last client for the store's TTL: the next first join starts
// from it too.
// The owner applies a client event of its own clients in one critical
// section with its election, so a lease lost meanwhile never leaves the
// event without state. A client event that no owner can apply (forwarded
// to an owner that dies meanwhile, or while no node holds the lease) gets
// an `error` event and the reply {"status":"error","response":{"reason":
// "owner unavailable"}}, after at most cluster.Options.RelayTimeout: it
// was not applied, and the client may push it again. On a
// non-owner node, Socket is a remote one: Identity and Channel are nil,
// ConnectInfo is empty (Transport "cluster"). Broadcasts made with
// phx.Endpoint.BroadcastLocal on a non-owner node are not applied.
//
// Without SharedLeaser each node keeps its own state per topic (and
// HandleMessage runs once per broadcast on every node).
type SharedChannel[S any] interface {
	// Init builds the topic's state when its first client joins (again
	// after the state was dropped). An error is pushed as an `error` event
	// to the joining client, which stays joined without state; the next
	// join or lvs_refresh of the topic tries Init again.
	Init(ctx context.Context, topic string) (S, error)
	// HandleEvent handles the client event lvs_evt:<event> sent by s's
	// client, changing *state in place. Every client of the topic receives
	// the change. Events emitted with s.Emit, the error (as an `error`
	// event) and s.Reply go to the sender only (live_state's reply events
	// answer the client that sent the event).
	HandleEvent(ctx context.Context, s *Socket, event string, payload phx.Payload, state *S) error
}

// SharedMessageHandler receives the broadcasts published on a shared
// channel's topic ([Registry.Broadcast], [Socket.Broadcast], other nodes
// through the PubSub adapter): once per broadcast, not once per client,
// while the topic has state (the topic is claimed on the endpoint,
// [phx.Endpoint.Claim]). Broadcasts wait in a queue of the topic (at most
// the endpoint's QueueLength; past it they are dropped and logged) and run
// one at a time, between the topic's HandleEvent calls. Changes to *state reach every client; events
// emitted with t.Emit and a returned error (as an `error` event) too.
//
// Without a SharedMessageHandler, broadcasts on the topic go to every
// client as they are, like on a plain channel (one frame encoded once): a
// way to send all clients an event (phx-live-state delivers it to
// addEventListener) without touching the state.
type SharedMessageHandler[S any] interface {
	HandleMessage(ctx context.Context, t *Topic, msg *phx.Broadcast, state *S) error
}

// SharedCloser is told when the last client of a topic left: state is the
// topic's state as it is dropped (save it here). A client joining the topic
// meanwhile waits until CloseTopic returns before Init runs.
type SharedCloser[S any] interface {
	CloseTopic(ctx context.Context, topic string, state S)
}

// Topic is a shared channel's topic as [SharedMessageHandler] sees it.
type Topic struct {
	name    string
	members int
	emits   []emitted
}

// Name is the topic.
func (t *Topic) Name() string { return t.name }

// Members is the number of clients joined to the topic on this node (with
// Config.SharedLeaser, the owner's own clients only).
func (t *Topic) Members() int { return t.members }

// Emit queues an event for every client of the topic that has the state,
// pushed before the state update of the current callback.
func (t *Topic) Emit(name string, detail any) {
	t.emits = append(t.emits, emitted{name, detail})
}

// NewShared returns the phx.Handler of a shared LiveState channel kind
// (see [SharedChannel]); register it with [Registry.Handle]. Optional
// interfaces of ch: [Authorizer] (per join, before anything else),
// [SharedMessageHandler], [SharedCloser], and [Closer] (per client, when
// its channel ends). The Options are those of [New].
//
// What clients receive, with the LiveState dialect:
//
//   - on join: state:change {state, version} with the topic's current
//     version (0 only for the client whose join ran Init): phx-live-state
//     accepts a full state at any version;
//   - after every HandleEvent and HandleMessage: one state:patch
//     {patch, version} (an empty patch when nothing changed; with
//     CompactWire nothing then, and a state:change when the patch would not
//     be smaller than the state), the same bytes for every client. The version counts the topic's changes, so it is
//     correct for every client: each has seen every change since its
//     state:change;
//   - lvs_refresh: state:change with the current state and version.
//
// State updates are pushed broadcast-shaped (join_ref null, as Phoenix
// broadcasts are), which is what lets one encoded frame serve every
// client; replies, emitted events of HandleEvent and errors carry the
// client's join_ref. Socket.Send and Socket.Subscribe are not available to
// shared channels (they return an error): use broadcasts on the topic.
func NewShared[S any](ch SharedChannel[S], opts Options) phx.Handler {
	opts.defaults()
	h := &sharedHandler[S]{impl: ch, opts: opts, topics: map[string]*topicState[S]{}, closing: map[string]chan struct{}{}}
	h.mh, _ = ch.(SharedMessageHandler[S])
	return h
}

type sharedHandler[S any] struct {
	impl SharedChannel[S]
	mh   SharedMessageHandler[S]
	opts Options
	cl   *sharedCluster // nil on one node (Config.SharedLeaser unset)
	// beforeApply, set by tests only, runs in an owner's critical section
	// before a client event is applied.
	beforeApply func()
	// beforeForward, set by tests only, runs before a client event is
	// forwarded to the owner the node knows.
	beforeForward func()

	mu      sync.Mutex
	topics  map[string]*topicState[S]
	closing map[string]chan struct{} // topics whose CloseTopic is running
}

// topicState is one topic's shared state.
type topicState[S any] struct {
	name    string
	pattern string          // the route's pattern, for the observer
	refs    int             // joins not yet terminated (guarded by the handler's mu)
	after   <-chan struct{} // closed when the previous state's CloseTopic returned

	mu      sync.Mutex // serialises every change and every push
	members []*member[S]
	ready   bool
	state   S
	sync    syncer[S]
	change  *phx.Prepared // state:change of the current version, once built

	// With a SharedMessageHandler the topic is claimed on the endpoint
	// (phx.Endpoint.Claim): each broadcast arrives once, in inbox, and one
	// goroutine at a time (while inbox is not empty) runs HandleMessage.
	ep      *phx.Endpoint
	release func() // ends the claim (guarded by the handler's mu)
	inboxMu sync.Mutex
	inbox   []*phx.Broadcast
	running bool

	role clusterRole // with h.cl (sharedcluster.go); guarded by mu
	// The last role's token and seq (guarded by mu).
	lastToken, lastSeq uint64
	// With h.cl, the last version this node sent as owner or took from
	// an owner (seen: there was one; guarded by mu). A new owner goes on
	// from it, so that no version is published by two owners.
	seen        bool
	seenVersion int
	// retry, when set, elects again after a failed election (guarded by
	// mu).
	retry *time.Timer
	// electing, while an election runs, is closed when it ended;
	// electResync: it fetches the owner's state for the members. epoch
	// counts the resignations: an election begun before one is void
	// (sharedcluster.go; guarded by mu).
	electing    chan struct{}
	electResync bool
	epoch       uint64
	// beat, when set, tells the other nodes the owner's last update;
	// refetch, when set, fetches the owner's state for members without
	// one (sharedcluster.go; guarded by mu).
	beat, refetch *time.Timer
	beatN         int       // beat's number (sharedcluster.go's beats)
	snap          snapshots // the owner's snapshots (snapshot.go; guarded by mu)
}

// member is one client's join of a shared topic.
type member[S any] struct {
	ts       *topicState[S]
	sock     Socket
	idx      int    // in ts.members, -1 when not attached
	hasState bool   // received a state:change: receives every update
	from     uint64 // clustered follower: the owner's seq its state is at
}

type sharedKey struct{}

func (h *sharedHandler[S]) member(ch *phx.Channel) *member[S] {
	m, _ := ch.Value(sharedKey{}).(*member[S])
	return m
}

// Join implements phx.Handler: it authorizes the client and holds the
// topic's state alive until the channel ends.
func (h *sharedHandler[S]) Join(ctx context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
	m := &member[S]{sock: Socket{ch: ch}, idx: -1}
	if a, ok := h.impl.(Authorizer); ok {
		if err := a.Authorize(ctx, &m.sock, params); err != nil {
			return nil, err
		}
	}
	topic := ch.Topic()
	h.mu.Lock()
	ts := h.topics[topic]
	if ts == nil {
		ts = &topicState[S]{name: topic, pattern: ch.Pattern(), sync: newSyncer[S](&h.opts), after: h.closing[topic], ep: ch.Endpoint()}
		h.topics[topic] = ts
		if h.mh != nil || h.cl != nil {
			ts.release = ts.ep.Claim(topic, func(b *phx.Broadcast) { h.receive(ts, b) })
		}
	}
	ts.refs++
	h.mu.Unlock()
	m.ts = ts
	ch.Set(sharedKey{}, m)
	return nil, nil
}

// AfterJoin implements phx.AfterJoiner: under the topic's lock the client
// becomes a member and receives the current state (Init runs first when
// the topic has none), so it sees every later update exactly once.
func (h *sharedHandler[S]) AfterJoin(ctx context.Context, ch *phx.Channel) error {
	m := h.member(ch)
	ts := m.ts
	ts.mu.Lock()
	defer ts.mu.Unlock()
	m.idx = len(ts.members)
	ts.members = append(ts.members, m)
	if h.cl != nil {
		return h.clusterJoin(ctx, ts, m)
	}
	if !ts.ready && !h.init(ctx, ts, m) {
		return nil
	}
	return h.sendState(ts, m)
}

// init runs Init for the topic; on failure it pushes the error to m.
func (h *sharedHandler[S]) init(ctx context.Context, ts *topicState[S], m *member[S]) bool {
	if ts.after != nil {
		select {
		case <-ts.after:
			ts.after = nil
		case <-ctx.Done():
			h.pushError(m.sock.ch, ctx.Err())
			return false
		}
	}
	var state S
	loaded := false
	if h.cl != nil && h.cl.snaps != nil && ts.role.owner {
		var version int
		if state, version, loaded = h.loadSnapshot(ctx, ts); loaded && !ts.seen {
			ts.saw(version) // the versions go on from the snapshot's
		}
	}
	if !loaded {
		var err error
		if state, err = h.impl.Init(ctx, ts.name); err != nil {
			h.pushError(m.sock.ch, err)
			return false
		}
	}
	ts.state = state
	ts.sync.version = ts.firstVersion()
	if _, err := ts.sync.start(&ts.state); err != nil {
		var zero S
		ts.state = zero
		h.pushError(m.sock.ch, fmt.Errorf("livestate: encoding the state: %w", err))
		return false
	}
	ts.ready, ts.change = true, nil
	// Members whose join found no state get it now.
	for _, o := range ts.members {
		if o != m && !o.hasState {
			h.sendState(ts, o)
		}
	}
	return true
}

// firstVersion is the version of a new state: 0, or with a cluster the one
// after the last version seen from an owner (wrapping as versions do).
func (ts *topicState[S]) firstVersion() int {
	if !ts.seen || ts.seenVersion >= ts.sync.max {
		return 0
	}
	return ts.seenVersion + 1
}

// saw records the version an owner sent. Called with ts.mu held.
func (ts *topicState[S]) saw(version int) {
	ts.seen, ts.seenVersion = true, version
}

// sendState pushes the current state and version to m, which from then on
// receives every update.
func (h *sharedHandler[S]) sendState(ts *topicState[S], m *member[S]) error {
	if ts.change == nil {
		data, err := ts.sync.full(&ts.state)
		if err != nil {
			h.logError(m.sock.ch, err)
			h.pushError(m.sock.ch, errors.New("state could not be encoded"))
			return nil
		}
		ev, payload := h.opts.Messages.Change(data, ts.sync.version)
		p, err := phx.Prepare(ts.name, ev, phx.Payload{Data: payload})
		if err != nil {
			return err
		}
		ts.change = p
		observeState(ts.ep, ts.pattern, true, len(payload))
	}
	m.hasState = true
	return m.sock.ch.PushPrepared(ts.change)
}

// HandleInValue is HandleIn with the message by value: the channel calls
// it instead, so that no message is allocated per client event.
func (h *sharedHandler[S]) HandleInValue(ctx context.Context, ch *phx.Channel, msg phx.Message) (*phx.Reply, error) {
	return h.HandleIn(ctx, ch, &msg)
}

// HandleIn implements phx.InHandler.
func (h *sharedHandler[S]) HandleIn(ctx context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
	m := h.member(ch)
	ts := m.ts
	name, payload, kind := h.opts.Messages.ClientEvent(msg.Event, msg.Payload)
	switch kind {
	case EventOther:
		return phx.Err(map[string]string{"reason": "unknown event " + msg.Event}), nil
	case EventRefresh:
		ts.mu.Lock()
		defer ts.mu.Unlock()
		if h.cl != nil && !ts.role.owner {
			return h.clusterRefresh(ctx, ts, m)
		}
		if !ts.ready && !h.init(ctx, ts, m) {
			return phx.Err(map[string]string{"reason": "no state"}), nil
		}
		return nil, h.sendState(ts, m)
	}
	if h.cl != nil {
		return h.clusterEvent(ctx, ts, m, msg, name, payload)
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return h.applyEvent(ctx, ts, m, msg, name, payload)
}

// applyEvent runs HandleEvent for m's client event and sends its effects.
// Called with ts.mu held.
func (h *sharedHandler[S]) applyEvent(ctx context.Context, ts *topicState[S], m *member[S], msg *phx.Message, name string, payload phx.Payload) (*phx.Reply, error) {
	if !ts.ready || !m.hasState {
		return phx.Err(map[string]string{"reason": "no state"}), nil
	}
	ch := m.sock.ch
	s := &m.sock
	s.begin(msg.Ref, true)
	err := h.guarded(ts, func() error { return h.impl.HandleEvent(ctx, s, name, payload, &ts.state) })
	s.flushEmits(h.opts.Messages)
	if err != nil {
		h.pushError(ch, err)
	}
	h.publishUpdate(ts, ch, err)
	if s.reply != nil {
		return s.reply, nil
	}
	if err != nil {
		return phx.Err(map[string]string{"reason": err.Error()}), nil
	}
	return nil, nil
}

// receive queues a broadcast of the claimed topic (it runs on the
// broadcasting goroutine or the PubSub receive loop: it must not block).
// Past the endpoint's QueueLength broadcasts waiting, it drops b and logs.
func (h *sharedHandler[S]) receive(ts *topicState[S], b *phx.Broadcast) {
	if h.cl != nil && b.Event == frameEvent && bytes.HasPrefix(b.Payload.Data, h.cl.own) {
		// The owner's own update, delivered back locally: its members
		// have it already. Dropped unread, it takes no queue slot from
		// the broadcasts HandleMessage waits for.
		return
	}
	ts.inboxMu.Lock()
	defer ts.inboxMu.Unlock()
	if len(ts.inbox) >= ts.ep.Config().QueueLength {
		ts.ep.Logger().Warn("livestate: shared topic's broadcast queue full; broadcast dropped", "topic", ts.name, "event", b.Event, "queue", len(ts.inbox))
		return
	}
	ts.inbox = append(ts.inbox, b)
	if !ts.running {
		ts.running = true
		go h.handleMessages(ts)
	}
}

// handleMessages runs HandleMessage for the queued broadcasts, in order,
// until the inbox is empty.
func (h *sharedHandler[S]) handleMessages(ts *topicState[S]) {
	for {
		ts.inboxMu.Lock()
		if len(ts.inbox) == 0 {
			ts.inbox = nil
			ts.running = false
			ts.inboxMu.Unlock()
			return
		}
		b := ts.inbox[0]
		ts.inbox[0] = nil
		ts.inbox = ts.inbox[1:]
		ts.inboxMu.Unlock()
		h.handleMessage(ts, b)
	}
}

// handleMessage runs HandleMessage for one broadcast of the topic. A panic
// rolls the state back (see guarded) and is logged with its stack: it has
// no client's channel to crash.
func (h *sharedHandler[S]) handleMessage(ts *topicState[S], b *phx.Broadcast) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			ts.ep.Logger().Error("livestate: HandleMessage panicked; state rolled back", "topic", ts.name, "event", b.Event, "panic", p, "stack", string(debug.Stack()))
		}
	}()
	if h.cl != nil {
		h.clusterMessage(ts, b)
		return
	}
	if !ts.ready {
		return
	}
	h.runMessage(ts, b)
}

// runMessage runs HandleMessage for b and sends its effects. Called with
// ts.mu held.
func (h *sharedHandler[S]) runMessage(ts *topicState[S], b *phx.Broadcast) {
	t := &Topic{name: ts.name, members: len(ts.members)}
	err := h.guarded(ts, func() error { return h.mh.HandleMessage(context.Background(), t, b, &ts.state) })
	for _, e := range t.emits {
		ev, p := h.opts.Messages.Emit(e.name, e.detail)
		h.publish(ts, ev, p)
	}
	if err != nil {
		ev, p := h.opts.Messages.Error(err)
		h.publish(ts, ev, p)
	}
	h.publishUpdate(ts, nil, err)
}

// Terminate implements phx.Terminator: the member leaves; the last one
// drops the topic's state.
func (h *sharedHandler[S]) Terminate(ctx context.Context, ch *phx.Channel, reason error) {
	m := h.member(ch)
	if m == nil {
		return
	}
	if cl, ok := h.impl.(Closer); ok {
		m.sock.begin(phx.Ref{}, false)
		cl.Closed(ctx, &m.sock, reason)
	}
	ts := m.ts
	ts.mu.Lock()
	if m.idx >= 0 {
		last := ts.members[len(ts.members)-1]
		ts.members[m.idx] = last
		last.idx = m.idx
		ts.members[len(ts.members)-1] = nil
		ts.members = ts.members[:len(ts.members)-1]
		m.idx = -1
	}
	ts.mu.Unlock()

	h.mu.Lock()
	ts.refs--
	if ts.refs > 0 {
		h.mu.Unlock()
		return
	}
	if h.topics[ts.name] == ts {
		delete(h.topics, ts.name)
	}
	if ts.release != nil {
		ts.release()
	}
	sc, ok := h.impl.(SharedCloser[S])
	if !ok && h.cl == nil {
		h.mu.Unlock()
		return
	}
	// Joins from now on make a new state, whose Init waits for this.
	done := make(chan struct{})
	h.closing[ts.name] = done
	h.mu.Unlock()
	defer func() {
		close(done)
		h.mu.Lock()
		if h.closing[ts.name] == done {
			delete(h.closing, ts.name)
		}
		h.mu.Unlock()
	}()
	if h.cl != nil {
		// After CloseTopic (the next owner's Init may load what it
		// saved), before a new join of this node may elect.
		defer func() {
			ts.mu.Lock()
			wait := h.resign(ts)
			ts.mu.Unlock()
			wait()
		}()
	}
	ts.mu.Lock()
	ready, state := ts.ready, ts.state
	ts.mu.Unlock()
	if ready && ok {
		sc.CloseTopic(ctx, ts.name, state)
	}
}

// guarded runs a callback that may change the topic's state. If it panics,
// the state is rolled back to what every client last received before the
// panic goes on (it crashes ch's channel, as it would crash a per-join
// channel and its state with it): the other clients see nothing of the
// half-made change, and the version does not move. Called with ts.mu held.
func (h *sharedHandler[S]) guarded(ts *topicState[S], fn func() error) error {
	ts.sync.checkpoint(&ts.state)
	returned := false
	defer func() {
		if returned {
			return
		}
		if err := ts.sync.rollback(&ts.state); err != nil {
			ts.ep.Logger().Error("livestate: shared state not rolled back after a panic", "topic", ts.name, "error", err)
		}
	}()
	err := fn()
	returned = true
	return err
}

// publishUpdate sends the change made by the last callback, which returned
// cbErr, to every member with state. from, when not nil, is the client
// whose event made it: it is told when the state cannot be encoded (after a
// broadcast, every member is). Called with ts.mu held.
func (h *sharedHandler[S]) publishUpdate(ts *topicState[S], from *phx.Channel, cbErr error) {
	ev, payload, _, err := ts.sync.updateAfter(&ts.state, cbErr, nil)
	if err != nil {
		ts.ep.Logger().Error("livestate: shared state not synced", "topic", ts.name, "error", err)
		if from != nil {
			h.pushError(from, errors.New("state could not be encoded"))
		} else {
			ev, p := h.opts.Messages.Error(errors.New("state could not be encoded"))
			h.publish(ts, ev, p)
		}
		return
	}
	if ev == "" {
		return
	}
	ts.change = nil
	p, err := phx.Prepare(ts.name, ev, phx.Payload{Data: payload})
	if err != nil {
		ts.ep.Logger().Error("livestate: shared state not synced", "topic", ts.name, "error", err)
		return
	}
	observeState(ts.ep, ts.pattern, ts.sync.wasWhole, len(payload))
	ts.push(p)
	h.sendFrame(ts, ev, payload, false)
	h.snapshotted(ts)
}

// publish sends one event to every member with state.
func (h *sharedHandler[S]) publish(ts *topicState[S], event string, payload any) {
	p, err := phx.Prepare(ts.name, event, payload)
	if err != nil {
		ts.ep.Logger().Error("livestate: shared topic event not sent", "topic", ts.name, "event", event, "error", err)
		return
	}
	ts.push(p)
	if h.cl != nil && ts.role.owner {
		if data, err := json.Marshal(payload); err == nil {
			h.sendFrame(ts, event, data, false)
		}
	}
}

func (ts *topicState[S]) push(p *phx.Prepared) {
	for _, m := range ts.members {
		if m.hasState {
			m.sock.ch.PushPrepared(p) // fails only for a client going away
		}
	}
}

func (h *sharedHandler[S]) pushError(ch *phx.Channel, err error) {
	ev, payload := h.opts.Messages.Error(err)
	ch.Push(ev, payload)
}

func (h *sharedHandler[S]) logError(ch *phx.Channel, err error) {
	ch.Logger().Error("livestate: shared state not synced", "error", err)
}
