package presence

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seance-go/seance/cluster"
	"github.com/seance-go/seance/phx"
)

// Events are the names of the pushes phoenix.js's Presence listens to.
const (
	EventState = "presence_state"
	EventDiff  = "presence_diff"
)

// Options configure a [Tracker]. The zero value is ready to use.
type Options struct {
	// Interval is how long changes are collected before a topic's
	// presence_diff goes out (default 50 ms). Every change of the interval
	// is in one diff, encoded once for all of the node's subscribers.
	Interval time.Duration
	// Fetch, when set, enriches presences before they are sent: it is
	// called once per presence_diff (with the joins, then with the leaves)
	// and once per presence_state, never once per subscriber, and may set
	// [Presence.Extra] or replace metas' Data. An error is logged and the
	// presences go out as they were.
	Fetch func(ctx context.Context, topic string, presences List) error
	// FetchTimeout bounds each Fetch call (default 5 s).
	FetchTimeout time.Duration
	// MaxMetaBytes caps the JSON size of one tracked meta (default 16 KiB);
	// Track and Update refuse a larger one with [ErrMetaTooLarge]. Metas
	// travel between nodes and to every subscriber: keep them small.
	MaxMetaBytes int
	// Logger receives the tracker's logs (default: the endpoint's).
	Logger *slog.Logger
	// Cluster replicates the entries between the nodes of a cluster: the
	// endpoint's PubSub adapter wrapped in a cluster.Membership (the same
	// value as the endpoint's phx.Config.PubSub). Each node owns its
	// entries; when another node is declared down its entries leave. nil
	// tracks this node's channels only.
	Cluster *cluster.Membership
}

const (
	defaultInterval     = 50 * time.Millisecond
	defaultFetchTimeout = 5 * time.Second
	defaultMaxMetaBytes = 16 << 10
)

// Errors of the tracking calls.
var (
	// ErrAlreadyTracked: the channel already tracks this key on this
	// topic (Phoenix's {:error, {:already_tracked, …}}); use Update.
	ErrAlreadyTracked = errors.New("presence: key already tracked by this channel")
	// ErrNotTracked: Update or Untrack of a key the channel does not track.
	ErrNotTracked = errors.New("presence: key not tracked by this channel")
	// ErrMetaTooLarge: the meta encodes to more than Options.MaxMetaBytes.
	ErrMetaTooLarge = errors.New("presence: meta too large")
	// ErrClosed: the tracker was closed.
	ErrClosed = errors.New("presence: tracker closed")
)

// Tracker keeps the presences of an endpoint's topics and sends
// presence_state and presence_diff to their clients. Its methods are safe
// for concurrent use.
type Tracker struct {
	ep     *phx.Endpoint
	opts   Options
	log    *slog.Logger
	node   string
	prefix string // of every phx_ref made here
	seq    atomic.Uint64

	// flushMu orders diffs and states: a state is sent after every diff
	// of the changes it contains.
	flushMu sync.Mutex

	mu     sync.Mutex
	topics map[string]*topicState
	chans  map[*phx.Channel]map[tkey]*entry // this node's entries
	dirty  map[string]struct{}
	armed  bool
	timer  *time.Timer
	closed bool

	repl *replicator // nil without a cluster
}

type tkey struct{ topic, key string }

// entry is one meta of one key on one topic.
type entry struct {
	node  string       // owner node
	ch    *phx.Channel // nil for another node's entry
	topic string
	key   string
	meta  Meta
}

// topicState is a topic's presences and its changes not sent yet.
type topicState struct {
	keys   map[string][]*entry
	joins  map[string][]*entry
	leaves map[string][]*entry
}

// New returns a tracker for ep's channels.
func New(ep *phx.Endpoint, opts Options) *Tracker {
	if opts.Interval <= 0 {
		opts.Interval = defaultInterval
	}
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = defaultFetchTimeout
	}
	if opts.MaxMetaBytes <= 0 {
		opts.MaxMetaBytes = defaultMaxMetaBytes
	}
	if opts.Logger == nil {
		opts.Logger = ep.Logger()
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	t := &Tracker{
		ep: ep, opts: opts, log: opts.Logger, node: ep.NodeName(),
		prefix: base64.RawURLEncoding.EncodeToString(rnd[:]),
		topics: map[string]*topicState{}, chans: map[*phx.Channel]map[tkey]*entry{},
		dirty: map[string]struct{}{},
	}
	if opts.Cluster != nil {
		t.repl = newReplicator(t, opts.Cluster)
	}
	return t
}

func (t *Tracker) encodeMeta(meta any) (json.RawMessage, error) {
	data, err := encodeMeta(meta)
	if err == nil && len(data) > t.opts.MaxMetaBytes {
		return nil, ErrMetaTooLarge
	}
	return data, err
}

func (t *Tracker) newRef() string {
	return t.prefix + strconv.FormatUint(t.seq.Add(1), 36)
}

// Track adds the channel to its own topic's presences under key with meta
// (any value encoding as a JSON object; nil is {}). The entry leaves by
// itself when the channel ends. Tracking the same key twice from one
// channel fails with [ErrAlreadyTracked]. It returns the meta's phx_ref.
func (t *Tracker) Track(ch *phx.Channel, key string, meta any) (string, error) {
	return t.TrackTopic(ch, ch.Topic(), key, meta)
}

// TrackTopic is Track on another topic than the channel's own (Phoenix's
// track/4 with a pid): the channel is listed there until it untracks or
// ends.
func (t *Tracker) TrackTopic(ch *phx.Channel, topic, key string, meta any) (string, error) {
	data, err := t.encodeMeta(meta)
	if err != nil {
		return "", err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return "", ErrClosed
	}
	tk := tkey{topic, key}
	mine := t.chans[ch]
	if _, ok := mine[tk]; ok {
		return "", ErrAlreadyTracked
	}
	if mine == nil {
		// t.mu before the channel's lock here; the channel runs its end
		// hooks without its lock, so the order never inverts.
		if !ch.OnEnd(func(error) { t.UntrackAll(ch) }) {
			return "", phx.ErrChannelClosed
		}
		mine = map[tkey]*entry{}
		t.chans[ch] = mine
	}
	e := &entry{node: t.node, ch: ch, topic: topic, key: key, meta: Meta{Ref: t.newRef(), Data: data}}
	mine[tk] = e
	t.joinLocked(e)
	t.localOpLocked(opJoin, e)
	return e.meta.Ref, nil
}

// Update replaces the meta the channel tracks under key on its own topic:
// clients see the old meta leave and the new one (with phx_ref_prev) join.
func (t *Tracker) Update(ch *phx.Channel, key string, meta any) (string, error) {
	return t.UpdateTopic(ch, ch.Topic(), key, meta)
}

// UpdateTopic is Update on another topic than the channel's own.
func (t *Tracker) UpdateTopic(ch *phx.Channel, topic, key string, meta any) (string, error) {
	data, err := t.encodeMeta(meta)
	if err != nil {
		return "", err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return "", ErrClosed
	}
	tk := tkey{topic, key}
	old, ok := t.chans[ch][tk]
	if !ok {
		return "", ErrNotTracked
	}
	e := &entry{node: t.node, ch: ch, topic: topic, key: key,
		meta: Meta{Ref: t.newRef(), PrevRef: old.meta.Ref, Data: data}}
	t.chans[ch][tk] = e
	t.leaveLocked(old)
	t.localOpLocked(opLeave, old)
	t.joinLocked(e)
	t.localOpLocked(opJoin, e)
	return e.meta.Ref, nil
}

// Untrack removes the channel's key from its own topic.
func (t *Tracker) Untrack(ch *phx.Channel, key string) error {
	return t.UntrackTopic(ch, ch.Topic(), key)
}

// UntrackTopic removes the channel's key from topic.
func (t *Tracker) UntrackTopic(ch *phx.Channel, topic, key string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	tk := tkey{topic, key}
	e, ok := t.chans[ch][tk]
	if !ok {
		return ErrNotTracked
	}
	delete(t.chans[ch], tk)
	t.leaveLocked(e)
	t.localOpLocked(opLeave, e)
	return nil
}

// UntrackAll removes every entry of the channel, on every topic. It runs by
// itself when the channel ends.
func (t *Tracker) UntrackAll(ch *phx.Channel) {
	t.mu.Lock()
	defer t.mu.Unlock()
	mine := t.chans[ch]
	delete(t.chans, ch)
	// A stable order: a diff lists the leaves in the order they happened.
	es := make([]*entry, 0, len(mine))
	for _, e := range mine {
		es = append(es, e)
	}
	slices.SortFunc(es, func(a, b *entry) int {
		if a.topic != b.topic {
			if a.topic < b.topic {
				return -1
			}
			return 1
		}
		if a.key < b.key {
			return -1
		}
		if a.key > b.key {
			return 1
		}
		return 0
	})
	for _, e := range es {
		t.leaveLocked(e)
		t.localOpLocked(opLeave, e)
	}
}

// topicLocked returns topic's state, creating it.
func (t *Tracker) topicLocked(topic string) *topicState {
	ts := t.topics[topic]
	if ts == nil {
		ts = &topicState{keys: map[string][]*entry{}}
		t.topics[topic] = ts
	}
	return ts
}

// joinLocked adds e to its topic and to the pending diff.
func (t *Tracker) joinLocked(e *entry) {
	ts := t.topicLocked(e.topic)
	ts.keys[e.key] = append(ts.keys[e.key], e)
	if ts.joins == nil {
		ts.joins = map[string][]*entry{}
	}
	ts.joins[e.key] = append(ts.joins[e.key], e)
	t.markLocked(e.topic)
}

// leaveLocked removes e from its topic; a join nobody has seen yet is taken
// back instead of being sent as a leave.
func (t *Tracker) leaveLocked(e *entry) {
	ts := t.topics[e.topic]
	if ts == nil {
		return
	}
	metas := ts.keys[e.key]
	i := slices.Index(metas, e)
	if i < 0 {
		return
	}
	metas = slices.Delete(metas, i, i+1)
	if len(metas) == 0 {
		delete(ts.keys, e.key)
	} else {
		ts.keys[e.key] = metas
	}
	if j := slices.Index(ts.joins[e.key], e); j >= 0 {
		ts.joins[e.key] = slices.Delete(ts.joins[e.key], j, j+1)
		if len(ts.joins[e.key]) == 0 {
			delete(ts.joins, e.key)
		}
	} else {
		if ts.leaves == nil {
			ts.leaves = map[string][]*entry{}
		}
		ts.leaves[e.key] = append(ts.leaves[e.key], e)
	}
	t.markLocked(e.topic)
}

// markLocked schedules a flush of topic's pending diff.
func (t *Tracker) markLocked(topic string) {
	t.dirty[topic] = struct{}{}
	if !t.armed && !t.closed {
		t.armed = true
		if t.timer == nil {
			t.timer = time.AfterFunc(t.opts.Interval, t.flush)
		} else {
			t.timer.Reset(t.opts.Interval)
		}
	}
}

// pendingDiff is one topic's diff taken out of the tracker for sending.
type pendingDiff struct {
	topic string
	diff  Diff
}

// flush sends every pending diff.
func (t *Tracker) flush() {
	t.flushMu.Lock()
	defer t.flushMu.Unlock()
	t.flushLocked()
}

func (t *Tracker) flushLocked() {
	t.mu.Lock()
	t.armed = false
	var out []pendingDiff
	for topic := range t.dirty {
		ts := t.topics[topic]
		delete(t.dirty, topic)
		if ts == nil {
			continue
		}
		if len(ts.joins) > 0 || len(ts.leaves) > 0 {
			out = append(out, pendingDiff{topic, Diff{Joins: toList(ts.joins), Leaves: toList(ts.leaves)}})
		}
		ts.joins, ts.leaves = nil, nil
		if len(ts.keys) == 0 {
			delete(t.topics, topic)
		}
	}
	t.mu.Unlock()
	if t.repl != nil {
		t.repl.flushDeltas()
	}
	for i := range out {
		d := &out[i]
		t.fetch(d.topic, d.diff.Joins)
		t.fetch(d.topic, d.diff.Leaves)
		payload, err := d.diff.MarshalJSON()
		if err != nil {
			t.log.Error("presence: diff not encodable", "topic", d.topic, "error", err)
			continue
		}
		if _, err := t.ep.BroadcastLocal(d.topic, EventDiff, phx.Raw(payload)); err != nil {
			t.log.Error("presence: diff not sent", "topic", d.topic, "error", err)
		}
	}
}

// toList copies entries into a List.
func toList(m map[string][]*entry) List {
	l := make(List, len(m))
	for k, es := range m {
		p := &Presence{Metas: make([]Meta, len(es))}
		for i, e := range es {
			p.Metas[i] = e.meta
		}
		l[k] = p
	}
	return l
}

func (t *Tracker) fetch(topic string, l List) {
	if t.opts.Fetch == nil || len(l) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), t.opts.FetchTimeout)
	defer cancel()
	if err := t.opts.Fetch(ctx, topic, l); err != nil {
		t.log.Warn("presence: fetch hook failed", "topic", topic, "error", err)
	}
}

// List returns the presences of topic, fetched (Options.Fetch) like a
// presence_state. Encoded as JSON it is the presence_state payload.
func (t *Tracker) List(topic string) List {
	t.mu.Lock()
	l := t.listLocked(topic)
	t.mu.Unlock()
	t.fetch(topic, l)
	return l
}

func (t *Tracker) listLocked(topic string) List {
	ts := t.topics[topic]
	if ts == nil {
		return List{}
	}
	return toList(ts.keys)
}

// Get returns the presence of key on topic, or nil. Options.Fetch is not
// applied.
func (t *Tracker) Get(topic, key string) *Presence {
	t.mu.Lock()
	defer t.mu.Unlock()
	ts := t.topics[topic]
	if ts == nil || len(ts.keys[key]) == 0 {
		return nil
	}
	return toList(map[string][]*entry{key: ts.keys[key]})[key]
}

// Count returns how many metas topic lists.
func (t *Tracker) Count(topic string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	if ts := t.topics[topic]; ts != nil {
		for _, es := range ts.keys {
			n += len(es)
		}
	}
	return n
}

// Stats are a tracker's totals, for metrics.
type Stats struct {
	// Topics is how many topics list at least one presence.
	Topics int
	// Metas is how many metas all topics list, other nodes' included.
	Metas int
	// Local is how many of them this node's channels track.
	Local int
}

// Stats returns the tracker's totals. It walks every topic: call it at
// scrape time, not on a hot path.
func (t *Tracker) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	var st Stats
	for _, ts := range t.topics {
		n := 0
		for _, es := range ts.keys {
			n += len(es)
		}
		if n > 0 {
			st.Topics++
			st.Metas += n
		}
	}
	for _, es := range t.chans {
		st.Local += len(es)
	}
	return st
}

// PushState pushes the presence_state of the channel's topic to its client
// (phoenix.js's Presence waits for it before applying diffs). Call it from
// AfterJoin or later, typically right after Track. Pending diffs are sent
// first, so the client never sees a change twice out of order.
func (t *Tracker) PushState(ch *phx.Channel) error {
	t.flushMu.Lock()
	defer t.flushMu.Unlock()
	t.flushLocked()
	t.mu.Lock()
	l := t.listLocked(ch.Topic())
	t.mu.Unlock()
	t.fetch(ch.Topic(), l)
	payload, err := l.MarshalJSON()
	if err != nil {
		return err
	}
	// Encoded here: valid JSON, no need to validate it again.
	return ch.PushEncoded(EventState, payload)
}

// IsDiff reports whether msg, as received by a channel's InfoHandler or a
// LiveState channel's HandleMessage, is a presence_diff of topic (when
// topic is "", of any topic).
func IsDiff(msg any, topic string) bool {
	b, ok := msg.(*phx.Broadcast)
	return ok && b.Event == EventDiff && (topic == "" || b.Topic == topic)
}

// Close sends the pending diffs and stops the tracker (and its cluster
// replication): later Track and Update calls fail with [ErrClosed]. Call it
// after the endpoint's Shutdown.
func (t *Tracker) Close(ctx context.Context) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	if t.timer != nil {
		t.timer.Stop()
	}
	t.mu.Unlock()
	t.flush()
	if t.repl != nil {
		return t.repl.close(ctx)
	}
	return nil
}
