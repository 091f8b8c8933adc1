package cluster

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/seance-go/seance/phx"
)

// MembershipTopic is the Envelope.Topic of heartbeats and of the messages
// sent with [Membership.Send]; a Membership takes them out of the stream
// before the endpoint sees them. Like every topic starting with
// phx.ReservedTopicPrefix, no client can join it and no broadcast can use it.
const MembershipTopic = "seance:membership"

// MembershipOptions configure a [Membership]. Zero fields take the defaults.
type MembershipOptions struct {
	// Heartbeat is how often this node announces itself (default 1 s).
	Heartbeat time.Duration
	// DownAfter is how long a node may stay silent before it is declared
	// down (default 5 s; at least twice Heartbeat). A node is down for
	// this one only: when it is heard again it comes back up.
	DownAfter time.Duration
	// Logger receives membership changes (default slog.Default()).
	Logger *slog.Logger
}

const (
	defaultHeartbeat = time.Second
	defaultDownAfter = 5 * time.Second
)

// NodeEvent tells a [Membership] listener that a node came up or went
// down.
type NodeEvent struct {
	// Node is the node's name.
	Node string
	// Up is true when the node was heard for the first time (or again
	// after being down, or after a restart), false when it went down.
	Up bool
}

// Service is a user of a [Membership] (presence, for instance): it may add
// a digest of its state to every heartbeat and receives the messages sent
// to it with [Membership.Send].
type Service struct {
	// Digest, when set, returns the JSON value carried by this node's
	// heartbeats for the service (a version number, say), so that other
	// nodes can tell when their view of this node's state is stale.
	Digest func() json.RawMessage
	// Heartbeat, when set, receives the digest of the service on every
	// heartbeat of another node (nil when that node sends none).
	Heartbeat func(from string, digest json.RawMessage)
	// Receive, when set, receives the messages sent to the service by
	// other nodes.
	Receive func(from, event string, payload []byte)
	// Nodes, when set, is told of nodes going up and down.
	Nodes func(NodeEvent)
}

// Membership knows which nodes of a cluster are alive: every node sends a
// heartbeat over the PubSub adapter each Heartbeat, and a node not heard
// for DownAfter is declared down. It wraps the adapter: give the
// Membership to the endpoint as its phx.Config.PubSub, and it takes its own
// messages out of the stream the endpoint receives. Every other call goes
// to the wrapped adapter unchanged.
//
// Services ([Membership.Register]) ride on it: presence uses it to learn
// when another node's entries must leave and when its replica is stale.
type Membership struct {
	ps    phx.PubSub
	opts  MembershipOptions
	log   *slog.Logger
	epoch string // changes with every start of the process

	// evMu orders node events: a node's state change and the listeners'
	// calls it causes happen under it, so listeners never see a node's up
	// and down out of order.
	evMu     sync.Mutex
	mu       sync.Mutex
	services map[string]*Service
	nodes    map[string]*nodeState
}

type nodeState struct {
	epoch string
	last  time.Time
}

// heartbeat is the payload of a heartbeat.
type heartbeat struct {
	Epoch    string                     `json:"epoch"`
	Services map[string]json.RawMessage `json:"services,omitempty"`
}

// NewMembership wraps ps.
func NewMembership(ps phx.PubSub, opts MembershipOptions) *Membership {
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = defaultHeartbeat
	}
	if opts.DownAfter <= 0 {
		opts.DownAfter = defaultDownAfter
	}
	if opts.DownAfter < 2*opts.Heartbeat {
		opts.DownAfter = 2 * opts.Heartbeat
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	return &Membership{
		ps: ps, opts: opts, log: opts.Logger,
		epoch:    base64.RawURLEncoding.EncodeToString(rnd[:]),
		services: map[string]*Service{}, nodes: map[string]*nodeState{},
	}
}

// Options returns the effective options.
func (m *Membership) Options() MembershipOptions { return m.opts }

// Register adds a service under name. Registering a name twice replaces
// the first.
func (m *Membership) Register(name string, s *Service) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.services[name] = s
}

// Nodes returns the names of the other nodes currently up, sorted.
func (m *Membership) Nodes() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.nodes))
}

// Up reports whether node is currently up (heard within DownAfter).
func (m *Membership) Up(node string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.nodes[node] != nil
}

// Send publishes a message for service to node to ("" for every other
// node).
func (m *Membership) Send(ctx context.Context, to, service, event string, payload []byte) error {
	return m.ps.Publish(ctx, &phx.Envelope{
		FromNode: m.ps.NodeName(), ToNode: to, Topic: MembershipTopic,
		Event: service + ":" + event, Payload: payload,
	})
}

// NodeName is the wrapped adapter's node name.
func (m *Membership) NodeName() string { return m.ps.NodeName() }

// Subscribe passes to the wrapped adapter.
func (m *Membership) Subscribe(ctx context.Context, topic string) error {
	return m.ps.Subscribe(ctx, topic)
}

// Unsubscribe passes to the wrapped adapter.
func (m *Membership) Unsubscribe(ctx context.Context, topic string) error {
	return m.ps.Unsubscribe(ctx, topic)
}

// Publish passes to the wrapped adapter.
func (m *Membership) Publish(ctx context.Context, e *phx.Envelope) error {
	return m.ps.Publish(ctx, e)
}

// Run runs the wrapped adapter's receive loop, keeping the membership's
// messages for itself, and sends heartbeats and declares silent nodes down
// until ctx ends. Nodes still up are declared down when it returns.
func (m *Membership) Run(ctx context.Context, deliver func(*phx.Envelope)) error {
	if err := m.ps.Subscribe(ctx, MembershipTopic); err != nil {
		m.log.Warn("cluster: membership subscription failed; retried by the adapter", "error", err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.beat(ctx)
	}()
	err := m.ps.Run(ctx, func(e *phx.Envelope) {
		if e.Topic == MembershipTopic {
			m.receive(e)
			return
		}
		deliver(e)
	})
	wg.Wait()
	m.evMu.Lock()
	defer m.evMu.Unlock()
	m.mu.Lock()
	gone := slices.Sorted(maps.Keys(m.nodes))
	clear(m.nodes)
	m.mu.Unlock()
	for _, n := range gone {
		m.notify(NodeEvent{Node: n})
	}
	return err
}

// beat sends a heartbeat every Heartbeat and declares silent nodes down.
func (m *Membership) beat(ctx context.Context) {
	tick := time.NewTicker(m.opts.Heartbeat)
	defer tick.Stop()
	for {
		m.sendHeartbeat(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		m.reap(time.Now())
	}
}

func (m *Membership) sendHeartbeat(ctx context.Context) {
	hb := heartbeat{Epoch: m.epoch}
	m.mu.Lock()
	services := maps.Clone(m.services)
	m.mu.Unlock()
	for name, s := range services {
		if s.Digest != nil {
			if hb.Services == nil {
				hb.Services = map[string]json.RawMessage{}
			}
			hb.Services[name] = s.Digest()
		}
	}
	payload, err := json.Marshal(hb)
	if err != nil {
		m.log.Error("cluster: heartbeat not encodable", "error", err)
		return
	}
	// A hung broker must not stop the reaping: one period at most.
	pctx, cancel := context.WithTimeout(ctx, m.opts.Heartbeat)
	defer cancel()
	if err := m.ps.Publish(pctx, &phx.Envelope{FromNode: m.ps.NodeName(), Topic: MembershipTopic, Event: "heartbeat", Payload: payload}); err != nil && ctx.Err() == nil {
		m.log.Debug("cluster: heartbeat not sent", "error", err)
	}
}

// reap declares down every node silent for DownAfter.
func (m *Membership) reap(now time.Time) {
	m.evMu.Lock()
	defer m.evMu.Unlock()
	var down []string
	m.mu.Lock()
	for name, n := range m.nodes {
		if now.Sub(n.last) > m.opts.DownAfter {
			delete(m.nodes, name)
			down = append(down, name)
		}
	}
	m.mu.Unlock()
	slices.Sort(down)
	for _, name := range down {
		m.log.Warn("cluster: node down", "node", name, "silent_for", m.opts.DownAfter)
		m.notify(NodeEvent{Node: name})
	}
}

func (m *Membership) receive(e *phx.Envelope) {
	if e.FromNode == m.ps.NodeName() || e.FromNode == "" {
		return
	}
	if e.Event == "heartbeat" {
		var hb heartbeat
		if err := json.Unmarshal(e.Payload, &hb); err != nil {
			m.log.Warn("cluster: malformed heartbeat dropped", "from", e.FromNode, "error", err)
			return
		}
		m.heard(e.FromNode, hb)
		return
	}
	service, event, ok := strings.Cut(e.Event, ":")
	if !ok {
		return
	}
	m.mu.Lock()
	s := m.services[service]
	m.mu.Unlock()
	if s != nil && s.Receive != nil {
		s.Receive(e.FromNode, event, e.Payload)
	}
}

// heard records a heartbeat: a new node, or a known one with a new epoch
// (restarted: down, then up), comes up; then the services get their
// digests.
func (m *Membership) heard(from string, hb heartbeat) {
	m.evMu.Lock()
	defer m.evMu.Unlock()
	m.mu.Lock()
	n := m.nodes[from]
	restarted := n != nil && n.epoch != hb.Epoch
	isNew := n == nil || restarted
	if n == nil {
		n = &nodeState{}
		m.nodes[from] = n
	}
	n.epoch, n.last = hb.Epoch, time.Now()
	services := maps.Clone(m.services)
	m.mu.Unlock()
	if restarted {
		m.log.Info("cluster: node restarted", "node", from)
		m.notify(NodeEvent{Node: from})
	}
	if isNew {
		m.log.Info("cluster: node up", "node", from)
		m.notify(NodeEvent{Node: from, Up: true})
	}
	for name, s := range services {
		if s.Heartbeat != nil {
			s.Heartbeat(from, hb.Services[name])
		}
	}
}

func (m *Membership) notify(ev NodeEvent) {
	m.mu.Lock()
	services := maps.Clone(m.services)
	m.mu.Unlock()
	for _, s := range services {
		if s.Nodes != nil {
			s.Nodes(ev)
		}
	}
}
