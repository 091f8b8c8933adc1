package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seance-go/seance/phx"
)

// Topic is the Envelope.Topic of the node-to-node messages of this package;
// the endpoint hands them to the Node instead of any subscriber.
const Topic = "seance:cluster"

// Options configures a [Node]. Zero fields take the defaults.
type Options struct {
	// RelayTimeout is how long [Node.Request] waits for the first sign of
	// life from the addressed node (its answer, or an acknowledgement that
	// it is still working on it) before failing with [ErrUnreachable]
	// (default 3s). Past the acknowledgement only the request's context
	// bounds the wait.
	RelayTimeout time.Duration
	// MaxInFlight caps the requests a node has waiting for an answer, and,
	// separately, the requests of other nodes it is serving (default 4096
	// each). Past it, Request fails with [ErrBusy] at once, and a request
	// from another node is answered with ErrBusy.
	MaxInFlight int
	// Logger receives the node's logs (default: the endpoint's).
	Logger *slog.Logger
}

const (
	defaultRelayTimeout = 3 * time.Second
	defaultMaxInFlight  = 4096
)

// Errors of [Node.Request].
var (
	// ErrUnreachable: the addressed node did not answer within
	// RelayTimeout (it is gone, or the broker is down), or there is no
	// PubSub adapter to reach it.
	ErrUnreachable = errors.New("cluster: node unreachable")
	// ErrBusy: MaxInFlight requests are already waiting, here or on the
	// addressed node.
	ErrBusy = errors.New("cluster: too many requests in flight")
	// ErrNoHandler: the addressed node has no handler for the service.
	ErrNoHandler = errors.New("cluster: no handler for the service")
	// ErrClosed: the Node was closed.
	ErrClosed = errors.New("cluster: node closed")
)

// HandlerFunc answers a request from node from. Its context ends when the
// Node closes.
type HandlerFunc func(ctx context.Context, from string, req []byte) ([]byte, error)

// Node sends requests to other nodes and serves theirs. Create it with
// [New]; one Node per endpoint.
type Node struct {
	ep   *phx.Endpoint
	ps   phx.PubSub
	name string
	opts Options
	log  *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // handler goroutines

	mu       sync.Mutex
	handlers map[string]HandlerFunc
	pending  map[uint64]*call
	down     map[string]bool // nodes the endpoint's Membership declared down
	closed   bool

	seq     atomic.Uint64
	serving atomic.Int64
}

type call struct {
	node  string
	acked chan struct{} // closed by the first ack
	done  chan reply    // buffered 1
	once  sync.Once
}

type reply struct {
	body []byte
	err  error
}

// wire is the payload of every message of this package.
type wire struct {
	ID      uint64 `json:"id"`
	Service string `json:"svc,omitempty"`
	Body    []byte `json:"body,omitempty"`
	Err     string `json:"err,omitempty"`
}

// Event names of the messages.
const (
	evRequest = "req"
	evAck     = "ack"
	evReply   = "rep"
)

// Error strings carried by replies for the errors callers test.
const (
	wireBusy      = "busy"
	wireNoHandler = "no handler"
)

// New returns the Node of endpoint ep and starts receiving the messages
// addressed to it. Without a PubSub adapter on ep the Node serves only
// requests to its own name (the empty name).
func New(ep *phx.Endpoint, opts Options) *Node {
	if opts.RelayTimeout <= 0 {
		opts.RelayTimeout = defaultRelayTimeout
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = defaultMaxInFlight
	}
	log := opts.Logger
	if log == nil {
		log = ep.Logger()
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &Node{
		ep: ep, ps: ep.Config().PubSub, name: ep.NodeName(), opts: opts, log: log,
		ctx: ctx, cancel: cancel,
		handlers: map[string]HandlerFunc{}, pending: map[uint64]*call{},
	}
	ep.Intercept(Topic, n.receive)
	if m, ok := n.ps.(*Membership); ok {
		m.Register(membershipService, &Service{Nodes: n.nodeEvent})
	}
	return n
}

// maxDownNodes bounds the nodes a Node remembers as down.
const maxDownNodes = 1024

// membershipService is the name a Node registers with the endpoint's
// Membership to hear of nodes going down.
const membershipService = "cluster"

// nodeEvent follows the Membership: a request to a node declared down fails
// at once, and so do the requests waiting for it, acknowledged or not.
func (n *Node) nodeEvent(ev NodeEvent) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ev.Up {
		delete(n.down, ev.Node)
		return
	}
	if n.down == nil {
		n.down = map[string]bool{}
	}
	if len(n.down) >= maxDownNodes {
		// Nodes come and go under new names (autoscaling): forget one. A
		// request to a forgotten node waits RelayTimeout, as to an unknown one.
		for k := range n.down {
			delete(n.down, k)
			break
		}
	}
	n.down[ev.Node] = true
	for _, c := range n.pending {
		if c.node == ev.Node {
			select {
			case c.done <- reply{err: fmt.Errorf("%w: node %s went down", ErrUnreachable, ev.Node)}:
			default:
			}
		}
	}
}

// Name is this node's name in the cluster ("" without a PubSub adapter).
func (n *Node) Name() string { return n.name }

// Options returns the node's effective options.
func (n *Node) Options() Options { return n.opts }

// Handle registers fn as the handler of service; registering a service
// twice replaces its handler.
func (n *Node) Handle(service string, fn HandlerFunc) {
	n.mu.Lock()
	n.handlers[service] = fn
	n.mu.Unlock()
}

// Request sends req to the service handler of node and returns its answer.
// A request to this node's own name runs the handler directly. It fails
// with [ErrUnreachable] when node does not show up within RelayTimeout,
// [ErrBusy] past MaxInFlight, [ErrNoHandler], the handler's error (as a
// plain error carrying its text) or ctx's error.
//
// When the endpoint's PubSub is a [Membership], Request also follows it: a
// request to a node it has declared down (and not heard since) fails with
// ErrUnreachable at once, and a request waiting for a node that goes down
// fails then, even after the node acknowledged it. A node never heard
// yet is not down: it gets RelayTimeout to answer.
func (n *Node) Request(ctx context.Context, node, service string, req []byte) ([]byte, error) {
	if node == n.name {
		fn := n.handler(service)
		if fn == nil {
			return nil, ErrNoHandler
		}
		return fn(ctx, n.name, req)
	}
	if n.ps == nil {
		return nil, ErrUnreachable
	}
	id := n.seq.Add(1)
	c := &call{node: node, acked: make(chan struct{}), done: make(chan reply, 1)}
	n.mu.Lock()
	switch {
	case n.closed:
		n.mu.Unlock()
		return nil, ErrClosed
	case n.down[node]:
		n.mu.Unlock()
		return nil, fmt.Errorf("%w: node %s is down", ErrUnreachable, node)
	case len(n.pending) >= n.opts.MaxInFlight:
		n.mu.Unlock()
		return nil, ErrBusy
	}
	n.pending[id] = c
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.pending, id)
		n.mu.Unlock()
	}()

	t := time.NewTimer(n.opts.RelayTimeout)
	defer t.Stop()
	if err := n.send(ctx, node, evRequest, wire{ID: id, Service: service, Body: req}); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	acked := c.acked
	for {
		select {
		case r := <-c.done:
			return r.body, r.err
		case <-acked:
			acked = nil // from now on only ctx bounds the wait
			t.Stop()
		case <-t.C:
			return nil, ErrUnreachable
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-n.ctx.Done():
			return nil, ErrClosed
		}
	}
}

func (n *Node) handler(service string) HandlerFunc {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.handlers[service]
}

func (n *Node) send(ctx context.Context, to, event string, w wire) error {
	payload, err := json.Marshal(w)
	if err != nil {
		return err
	}
	return n.ps.Publish(ctx, &phx.Envelope{FromNode: n.name, ToNode: to, Topic: Topic, Event: event, Payload: payload})
}

// receive runs on the endpoint's receive loop: it must not block.
func (n *Node) receive(m *phx.Envelope) {
	if m.ToNode != n.name {
		return // a bus-mode adapter may show us others' messages
	}
	var w wire
	if err := json.Unmarshal(m.Payload, &w); err != nil {
		n.log.Warn("cluster: malformed message", "from", m.FromNode, "event", m.Event, "error", err)
		return
	}
	switch m.Event {
	case evRequest:
		n.serve(m.FromNode, w)
	case evAck, evReply:
		n.mu.Lock()
		c := n.pending[w.ID]
		n.mu.Unlock()
		if c == nil {
			return // the caller gave up
		}
		if m.Event == evAck {
			c.once.Do(func() { close(c.acked) })
			return
		}
		var err error
		switch w.Err {
		case "":
		case wireBusy:
			err = ErrBusy
		case wireNoHandler:
			err = ErrNoHandler
		default:
			err = errors.New(w.Err)
		}
		select {
		case c.done <- reply{w.Body, err}:
		default:
		}
	default:
		n.log.Warn("cluster: unknown message", "from", m.FromNode, "event", m.Event)
	}
}

// serve runs a request of node from in its own goroutine, acknowledging it
// when the handler takes longer than a third of RelayTimeout.
func (n *Node) serve(from string, w wire) {
	answer := func(body []byte, errText string) {
		ctx, cancel := context.WithTimeout(n.ctx, n.opts.RelayTimeout)
		defer cancel()
		if err := n.send(ctx, from, evReply, wire{ID: w.ID, Body: body, Err: errText}); err != nil && n.ctx.Err() == nil {
			n.log.Warn("cluster: reply not sent", "to", from, "service", w.Service, "error", err)
		}
	}
	fn := n.handler(w.Service)
	n.mu.Lock()
	closed := n.closed
	if !closed {
		n.wg.Add(1)
	}
	n.mu.Unlock()
	if closed {
		return
	}
	// Past MaxInFlight only a goroutine answering "busy" starts (it must
	// not publish from the receive loop); those end at once.
	busy := n.serving.Add(1) > int64(n.opts.MaxInFlight)
	go func() {
		defer n.wg.Done()
		defer n.serving.Add(-1)
		switch {
		case busy:
			answer(nil, wireBusy)
			return
		case fn == nil:
			answer(nil, wireNoHandler)
			return
		}
		// The handler runs here; only a slow one gets a second goroutine,
		// the timer's, sending the acknowledgement (before the answer).
		ackSent := make(chan struct{})
		ack := time.AfterFunc(n.opts.RelayTimeout/3, func() {
			defer close(ackSent)
			ctx, cancel := context.WithTimeout(n.ctx, n.opts.RelayTimeout)
			defer cancel()
			n.send(ctx, from, evAck, wire{ID: w.ID})
		})
		body, err := fn(n.ctx, from, w.Body)
		if !ack.Stop() {
			<-ackSent
		}
		if err != nil {
			answer(nil, err.Error())
			return
		}
		answer(body, "")
	}()
}

// Close stops serving requests, fails the waiting ones with [ErrClosed] and
// waits until the running handlers returned (their context is cancelled)
// or ctx ends.
func (n *Node) Close(ctx context.Context) error {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	n.ep.Intercept(Topic, func(*phx.Envelope) {})
	n.cancel()
	done := make(chan struct{})
	go func() {
		n.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
