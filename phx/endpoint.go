package phx

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Config holds an endpoint's limits. Zero fields take the defaults.
type Config struct {
	// MaxChannels is how many channels one connection may join (default 100,
	// as Phoenix); further joins get {"reason":"too many channels joined"}.
	MaxChannels int
	// MaxTopicBytes is the longest topic a client may send (default 1024
	// bytes; v2 binary frames carry at most 255). A message with a longer
	// topic, a join included, is answered {"reason":"topic too long"}.
	MaxTopicBytes int
	// MaxEventBytes is the longest event name a client may send (default
	// 255 bytes, the most a v2 binary frame carries). A message with a
	// longer one is answered {"reason":"event too long"}.
	MaxEventBytes int
	// QueueLength is how many outbound frames may wait for a slow client
	// (default 1024). Past it (or QueueBytes) the client is disconnected
	// (WebSocket close 1008) and its queue released.
	QueueLength int
	// QueueBytes caps the bytes of waiting outbound frames (default 16 MiB).
	QueueBytes int
	// Logger receives the engine's logs (default slog.Default()).
	Logger *slog.Logger
	// BeforeJoin, when set, runs before every channel's Join, after the
	// topic was routed: a non-nil error refuses the join exactly like an
	// error from Join. Rate limits and authorization common to all channels
	// belong here (see middleware.LimitJoins).
	BeforeJoin func(ctx context.Context, ch *Channel, params Payload) error
	// PubSub connects the endpoint to other nodes (default: none, this
	// process only). The endpoint runs its receive loop until Shutdown.
	// Joins and broadcasts never wait on it (but for a join's reply with
	// JoinAwaitsSubscription): see [PubSub].
	PubSub PubSub
	// PublishQueue is how many broadcasts may wait to be handed to PubSub
	// (default 4096). Past it a broadcast still reaches this node's
	// subscribers but not the other nodes: it is dropped, counted in
	// [PubSubStats].Dropped and the broadcast returns [ErrPublishQueueFull].
	PublishQueue int
	// SubscribeConcurrency is how many PubSub Subscribe and Unsubscribe
	// calls may run at once (default 8); further topics wait their turn.
	SubscribeConcurrency int
	// JoinAwaitsSubscription is how long, at most, a join's reply waits for
	// the PubSub adapter to confirm the subscription of its topic on this
	// node, when the topic had no local subscriber yet (default 0: the
	// reply does not wait). With it, a client that has seen its join reply
	// receives the broadcasts published on any node after it, as with
	// Phoenix; without it, broadcasts from other nodes published in the
	// moment between the reply and the broker's confirmation (usually well
	// under a millisecond; as long as the broker hangs) are missed
	// ([PubSubStats].Pending). The session keeps reading meanwhile: its
	// heartbeats and other channels are answered, and the channel's own
	// messages wait for the reply. A reply that waited the whole time is
	// sent anyway and counted ([PubSubStats].JoinWaitsExpired).
	JoinAwaitsSubscription time.Duration
	// DrainBatchSize is how many connections Shutdown closes at a time
	// (default 10000, as Phoenix's drainer); DrainInterval is the pause
	// between two batches (default 2s). A rolling deploy then moves clients
	// to the other nodes in waves instead of all in the same instant. The
	// Shutdown context bounds the whole drain: when it ends, the connections
	// left are closed at once.
	DrainBatchSize int
	DrainInterval  time.Duration
	// Observer receives the engine's events for metrics and traces
	// (default none: each report point then costs a nil check). See
	// [Observer]; combine several with [Observers].
	Observer *Observer
}

const (
	defaultMaxChannels = 100
	defaultMaxTopic    = 1024
	defaultMaxEvent    = 255
	defaultQueueLength = 1024
	defaultQueueBytes  = 16 << 20
	defaultDrainBatch  = 10000
	defaultDrainPause  = 2 * time.Second
)

// setDefaults fills the zero fields of c.
func (c *Config) setDefaults() {
	if c.MaxChannels <= 0 {
		c.MaxChannels = defaultMaxChannels
	}
	if c.MaxTopicBytes <= 0 {
		c.MaxTopicBytes = defaultMaxTopic
	}
	if c.MaxEventBytes <= 0 {
		c.MaxEventBytes = defaultMaxEvent
	}
	if c.QueueLength <= 0 {
		c.QueueLength = defaultQueueLength
	}
	if c.DrainBatchSize <= 0 {
		c.DrainBatchSize = defaultDrainBatch
	}
	if c.DrainInterval <= 0 {
		c.DrainInterval = defaultDrainPause
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = defaultQueueBytes
	}
	if c.PublishQueue <= 0 {
		c.PublishQueue = defaultPublishQueue
	}
	if c.SubscribeConcurrency <= 0 {
		c.SubscribeConcurrency = defaultSubscribeConcurrency
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Endpoint routes topics to handlers, owns the connections' sessions and the
// publish/subscribe hub. It is the engine behind every transport.
type Endpoint struct {
	cfg    Config
	log    *slog.Logger
	obs    *Observer // nil when unset
	router router
	hub    hub

	mu       sync.Mutex
	sessions map[*Session]struct{}
	connSeq  atomic.Uint64 // the last connection id given
	stopping atomic.Bool
	// active counts open sessions and running channel drains; idle is
	// closed (once) when it reaches zero after Shutdown began.
	active   atomic.Int64
	idle     chan struct{}
	idleOnce sync.Once
	workers  workerPool

	broker *broker       // nil without PubSub
	psDone chan struct{} // closed when PubSub.Run returned

	ids  idIndex  // socket ids → sessions (ids.go)
	taps sync.Map // topic → func(*Envelope) (ids.go, Intercept)
}

// NewEndpoint returns an endpoint with the given limits.
func NewEndpoint(cfg Config) *Endpoint {
	cfg.setDefaults()
	e := &Endpoint{cfg: cfg, log: cfg.Logger, obs: cfg.Observer, sessions: map[*Session]struct{}{}, idle: make(chan struct{})}
	e.workers.handoff = make(chan *Channel)
	e.workers.stop = make(chan struct{})
	e.hub.ep = e
	if cfg.PubSub != nil {
		e.broker = newBroker(cfg.PubSub, e.log, cfg.PublishQueue, cfg.SubscribeConcurrency)
		e.hub.broker = e.broker
		e.psDone = make(chan struct{})
		e.ids.broker = e.broker
		go e.runPubSub(e.broker.ctx)
	}
	return e
}

// runPubSub delivers messages from other nodes to local subscribers.
func (e *Endpoint) runPubSub(ctx context.Context) {
	defer close(e.psDone)
	err := e.cfg.PubSub.Run(ctx, func(m *Envelope) {
		if m.FromNode == e.cfg.PubSub.NodeName() || e.intercepted(m) || reserved(m.Topic) {
			// A reserved topic nobody intercepts is no client's business.
			return
		}
		e.broker.received.Add(1)
		b := &broadcast{Broadcast: Broadcast{Topic: m.Topic, Event: m.Event, Payload: Payload{Data: m.Payload, Binary: m.Binary}}}
		e.hub.publish(b, nil)
		if m.Event == DisconnectEvent {
			e.closeID(m.Topic)
		}
	})
	if err != nil && ctx.Err() == nil {
		e.log.Error("phx: pubsub receive loop ended", "error", err)
	}
}

// NodeName is the cluster node name of the PubSub adapter, or "" without one.
func (e *Endpoint) NodeName() string {
	if e.cfg.PubSub == nil {
		return ""
	}
	return e.cfg.PubSub.NodeName()
}

// Config returns the endpoint's effective limits.
func (e *Endpoint) Config() Config { return e.cfg }

// Observer returns the endpoint's observer (nil when none is set), for
// packages built on the engine that report through it (livestate).
func (e *Endpoint) Observer() *Observer { return e.obs }

// Logger returns the endpoint's logger.
func (e *Endpoint) Logger() *slog.Logger { return e.log }

// Handle routes joins of topics matching pattern to h. A pattern is an exact
// topic ("room:lobby") or a prefix followed by "*" ("room:*"); exact patterns
// win, then the longest prefix. Registering a pattern twice panics, like
// http.ServeMux.
func (e *Endpoint) Handle(pattern string, h Handler) { e.router.handle(pattern, h) }

// Open starts a session for a new connection. binary tells whether the
// transport can carry binary frames to the client. It fails with
// [ErrShutdown] once Shutdown has begun.
func (e *Endpoint) Open(info ConnectInfo, ser Serializer, binary bool) (*Session, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopping.Load() {
		return nil, ErrShutdown
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Session{ep: e, ser: ser, info: info, binaryOK: binary, ctx: ctx, cancel: cancel, id: e.connSeq.Add(1)}
	e.sessions[s] = struct{}{}
	e.hold()
	e.ids.add(s)
	if o := e.obs; o != nil && o.ConnOpened != nil {
		o.ConnOpened(info.Transport)
	}
	return s, nil
}

// hold and release count the work Shutdown waits for.
func (e *Endpoint) hold() { e.active.Add(1) }

func (e *Endpoint) release() {
	if e.active.Add(-1) == 0 && e.stopping.Load() {
		e.idleOnce.Do(func() { close(e.idle) })
	}
}

func (e *Endpoint) removeSession(s *Session) {
	e.mu.Lock()
	_, ok := e.sessions[s]
	delete(e.sessions, s)
	e.mu.Unlock()
	if ok {
		e.ids.remove(s)
		e.release()
	}
}

// Sessions reports how many connections are open.
func (e *Endpoint) Sessions() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.sessions)
}

// EachSession calls f for each open session (in no particular order)
// until f returns false; sessions opened or closed meanwhile may or may
// not be seen. It is meant for inspection (it copies the session list), not
// for hot paths.
func (e *Endpoint) EachSession(f func(*Session) bool) {
	e.mu.Lock()
	list := make([]*Session, 0, len(e.sessions))
	for s := range e.sessions {
		list = append(list, s)
	}
	e.mu.Unlock()
	for _, s := range list {
		if !f(s) {
			return
		}
	}
}

// Broadcast publishes an event to every subscriber of topic: clients of
// plain channels receive one frame encoded once for all of them; channels
// with an [OutHandler] (LiveState channels among them) get it as a
// *Broadcast. The payload is JSON-encoded ({} for nil) or a [Binary].
// It returns how many local channels it reached. On a topic of 512 local
// subscribers or more the frames are queued and written by up to GOMAXPROCS
// goroutines at once, and Broadcast returns when every part is done (a
// socket that cannot take its frame at once is left to its writer).
//
// With a PubSub adapter it then queues the broadcast for the other nodes
// and returns without waiting for the adapter, so a slow or hung broker
// never delays it: broadcasts of one node go out in the order they were
// queued. ctx only decides whether to queue (an ended ctx reaches local
// subscribers only, and its error is returned); a full queue
// ([Config.PublishQueue]) returns [ErrPublishQueueFull].
func (e *Endpoint) Broadcast(ctx context.Context, topic, event string, payload any) (int, error) {
	return e.publish(ctx, topic, event, payload, nil)
}

func (e *Endpoint) publish(ctx context.Context, topic, event string, payload any, except *Channel) (int, error) {
	if reserved(topic) {
		return 0, ErrReservedTopic
	}
	p, err := Prepare(topic, event, payload)
	if err != nil {
		return 0, err
	}
	b := &p.b
	n := e.hub.publish(b, except)
	if event == DisconnectEvent {
		e.closeID(topic)
	}
	if e.broker != nil {
		env := &Envelope{FromNode: e.broker.ps.NodeName(), Topic: topic, Event: event, Payload: b.Payload.Data, Binary: b.Payload.Binary}
		if err := e.broker.enqueue(ctx, env); err != nil {
			return n, err
		}
	}
	return n, nil
}

// PubSubStats returns the counters of the endpoint's link to its PubSub
// adapter (zero without one).
func (e *Endpoint) PubSubStats() PubSubStats {
	if e.broker == nil {
		return PubSubStats{}
	}
	return e.broker.stats()
}

// Shutdown closes every connection with [ErrShutdown] (WebSocket close
// 1012, so clients reconnect elsewhere or later) in batches of
// Config.DrainBatchSize every Config.DrainInterval, refuses new ones, and
// waits until every channel's Terminator has run and every transport has let
// go of its session, or ctx ends. With a PubSub adapter it then hands the
// queued broadcasts to the adapter (until ctx ends; the rest are counted
// as dropped) and stops the receive loop and the adapter calls under way,
// which get their context cancelled.
func (e *Endpoint) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	if !e.stopping.Load() {
		close(e.workers.stop)
	}
	e.stopping.Store(true)
	sessions := make([]*Session, 0, len(e.sessions))
	for s := range e.sessions {
		sessions = append(sessions, s)
	}
	e.mu.Unlock()
	e.drain(ctx, sessions)
	if e.active.Load() == 0 {
		e.idleOnce.Do(func() { close(e.idle) })
	}
	var err error
	select {
	case <-e.idle:
	case <-ctx.Done():
		err = ctx.Err()
	}
	// The receive loop from other nodes stops either way: the endpoint is
	// closed to new work even when some sessions did not end in time.
	if e.broker != nil {
		if berr := e.broker.stop(ctx, e.psDone); err == nil {
			err = berr
		}
	}
	return err
}
