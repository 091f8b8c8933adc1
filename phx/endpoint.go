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
	PubSub PubSub
	// DrainBatchSize is how many connections Shutdown closes at a time
	// (default 10000, as Phoenix's drainer); DrainInterval is the pause
	// between two batches (default 2s). A rolling deploy then moves clients
	// to the other nodes in waves instead of all in the same instant. The
	// Shutdown context bounds the whole drain: when it ends, the connections
	// left are closed at once.
	DrainBatchSize int
	DrainInterval  time.Duration
}

const (
	defaultMaxChannels = 100
	defaultQueueLength = 1024
	defaultQueueBytes  = 16 << 20
	defaultDrainBatch  = 10000
	defaultDrainPause  = 2 * time.Second
)

// Endpoint routes topics to handlers, owns the connections' sessions and the
// publish/subscribe hub. It is the engine behind every transport.
type Endpoint struct {
	cfg    Config
	log    *slog.Logger
	router router
	hub    hub

	mu       sync.Mutex
	sessions map[*Session]struct{}
	stopping atomic.Bool
	// active counts open sessions and running channel drains; idle is
	// closed (once) when it reaches zero after Shutdown began.
	active   atomic.Int64
	idle     chan struct{}
	idleOnce sync.Once
	workers  workerPool

	psCancel context.CancelFunc
	psDone   chan struct{}

	ids  idIndex  // socket ids → sessions (ids.go)
	taps sync.Map // topic → func(*Envelope) (ids.go, Intercept)
}

// NewEndpoint returns an endpoint with the given limits.
func NewEndpoint(cfg Config) *Endpoint {
	if cfg.MaxChannels <= 0 {
		cfg.MaxChannels = defaultMaxChannels
	}
	if cfg.QueueLength <= 0 {
		cfg.QueueLength = defaultQueueLength
	}
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = defaultQueueBytes
	}
	if cfg.DrainBatchSize <= 0 {
		cfg.DrainBatchSize = defaultDrainBatch
	}
	if cfg.DrainInterval <= 0 {
		cfg.DrainInterval = defaultDrainPause
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	e := &Endpoint{cfg: cfg, log: log, sessions: map[*Session]struct{}{}, idle: make(chan struct{})}
	e.workers.handoff = make(chan *Channel)
	e.workers.stop = make(chan struct{})
	e.hub.ep = e
	if cfg.PubSub != nil {
		ctx, cancel := context.WithCancel(context.Background())
		e.psCancel, e.psDone = cancel, make(chan struct{})
		e.ids.kick = make(chan struct{}, 1)
		go e.runPubSub(ctx)
	}
	return e
}

// runPubSub delivers messages from other nodes to local subscribers.
func (e *Endpoint) runPubSub(ctx context.Context) {
	defer close(e.psDone)
	idsDone := make(chan struct{})
	go func() {
		defer close(idsDone)
		e.ids.run(ctx, e)
	}()
	defer func() { <-idsDone }()
	err := e.cfg.PubSub.Run(ctx, func(m *Envelope) {
		if m.FromNode == e.cfg.PubSub.NodeName() || e.intercepted(m) {
			return
		}
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
	s := &Session{ep: e, ser: ser, info: info, binaryOK: binary, ctx: ctx, cancel: cancel}
	e.sessions[s] = struct{}{}
	e.hold()
	e.ids.add(e.cfg.PubSub, s)
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
		e.ids.remove(e.cfg.PubSub, s)
		e.release()
	}
}

// Sessions reports how many connections are open.
func (e *Endpoint) Sessions() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.sessions)
}

// Broadcast publishes an event to every subscriber of topic: clients of
// plain channels receive one frame encoded once for all of them; channels
// with an [OutHandler] (LiveState channels among them) get it as a
// *Broadcast. The payload is JSON-encoded ({} for nil) or a [Binary].
// It returns how many local channels it reached. With a PubSub adapter it
// also publishes to the other nodes, which may block until ctx ends.
func (e *Endpoint) Broadcast(ctx context.Context, topic, event string, payload any) (int, error) {
	return e.publish(ctx, topic, event, payload, nil)
}

func (e *Endpoint) publish(ctx context.Context, topic, event string, payload any, except *Channel) (int, error) {
	p, err := Prepare(topic, event, payload)
	if err != nil {
		return 0, err
	}
	b := &p.b
	n := e.hub.publish(b, except)
	if event == DisconnectEvent {
		e.closeID(topic)
	}
	if ps := e.cfg.PubSub; ps != nil {
		env := &Envelope{FromNode: ps.NodeName(), Topic: topic, Event: event, Payload: b.Payload.Data, Binary: b.Payload.Binary}
		if err := ps.Publish(ctx, env); err != nil {
			return n, err
		}
	}
	return n, nil
}

// Shutdown closes every connection with [ErrShutdown] (WebSocket close
// 1012, so clients reconnect elsewhere or later) in batches of
// Config.DrainBatchSize every Config.DrainInterval, refuses new ones, and
// waits until every channel's Terminator has run and every transport has let
// go of its session, or ctx ends.
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
	if e.psCancel != nil {
		e.psCancel()
		select {
		case <-e.psDone:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	return err
}
