package livestate

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/seance-go/seance/cluster"
	"github.com/seance-go/seance/cors"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/longpoll"
	"github.com/seance-go/seance/phx"
)

// Config configures a [Registry]. Zero fields take the defaults.
type Config struct {
	// Engine holds the per-connection limits (channels per connection,
	// outbound queue), the logger and the multi-node PubSub adapter.
	Engine phx.Config
	// Socket configures the connect hook and the WebSocket transport (idle
	// timeout, frame size limit). Its CheckOrigin, when nil, comes from Origin.
	Socket handler.Options
	// Origin is the one origin policy for the WebSocket upgrade (HTTP 403),
	// the long-poll check ({"status":403}) and long-poll CORS headers.
	// nil allows requests without Origin and those from the request's own
	// host (Phoenix's default check_origin).
	Origin *cors.Policy
	// LongPoll configures the long-poll transport; its Connect, Origin,
	// Logger and ParamLimits default to Socket.Connect, Origin,
	// Socket.Logger and Socket.ParamLimits.
	LongPoll longpoll.Options
	// DisableLongPoll turns <mount>/longpoll off (404).
	DisableLongPoll bool
	// Cluster configures the node-to-node relay the registry starts when
	// Engine.PubSub is set, so that long-poll needs no sticky sessions
	// (unless LongPoll.Cluster is set already). Give every node the same
	// LongPoll.Secret.
	Cluster cluster.Options
	// SharedLeaser, with Engine.PubSub, makes every shared topic
	// ([NewShared]) one state across the nodes: the node holding a topic's
	// lease owns its state and the others forward to it (see
	// [SharedChannel]). pubsub/redis and pubsub/nats implement it. nil:
	// each node keeps its own state per topic.
	SharedLeaser cluster.Leaser
	// SharedSnapshots, with SharedLeaser, makes a shared topic's owner
	// store its state and version in the engine (asynchronously, as
	// SharedSnapshot says: never on an event's path), and a new owner
	// start from the last snapshot instead of Init (see [SharedChannel]).
	// pubsub/redis and pubsub/nats implement it. nil (the default): a new
	// owner runs Init.
	SharedSnapshots cluster.SnapshotStore
	// SharedSnapshot tunes SharedSnapshots.
	SharedSnapshot SnapshotOptions
	// SharedConfirm, with SharedLeaser, is how long after an update of
	// a shared topic its owner tells the other nodes which update it sent
	// last: one small broadcast per topic, at most one per SharedConfirm
	// while updates come, then repeated 2, 4 and 8 times SharedConfirm
	// apart once they stop (by default 1, 3, 7 and 15 s after the last
	// update), so that a node whose link to the broker was down a while
	// hears of it too. PubSub adapters deliver at most once: a node that
	// lost the owner's last updates would otherwise show its clients an
	// old state until the next update; with it, their clients get the
	// owner's state (a state:change). 0 means 1s; a negative value turns
	// it off.
	SharedConfirm time.Duration
}

// Registry routes topics to channels and serves them; it is the
// router-friendly entry point of the package.
type Registry struct {
	cfg Config
	ep  *phx.Endpoint
	lp  *longpoll.Handler // nil when disabled
	cn  *cluster.Node     // nil without a PubSub adapter
	// sn serves the shared topics across nodes: cn, or the application's
	// LongPoll.Cluster (one Node per endpoint).
	sn *cluster.Node

	mu      sync.Mutex
	keepers []keptDropper // handlers keeping channels for resume
}

// NewRegistry returns an empty registry.
func NewRegistry(cfg Config) *Registry {
	r := &Registry{cfg: cfg, ep: phx.NewEndpoint(cfg.Engine)}
	if !cfg.DisableLongPoll {
		lp := cfg.LongPoll
		if lp.Connect == nil {
			lp.Connect = cfg.Socket.Connect
		}
		if lp.Origin == nil {
			lp.Origin = cfg.Origin
		}
		if lp.Logger == nil {
			lp.Logger = cfg.Socket.Logger
		}
		if lp.ParamLimits == (handler.ParamLimits{}) {
			lp.ParamLimits = cfg.Socket.ParamLimits
		}
		if lp.Cluster == nil && cfg.Engine.PubSub != nil {
			r.cn = cluster.New(r.ep, cfg.Cluster)
			lp.Cluster = r.cn
		}
		r.lp = longpoll.New(r.ep, lp)
	}
	if cfg.Engine.PubSub != nil && cfg.SharedLeaser != nil {
		switch {
		case r.cn != nil:
			r.sn = r.cn
		case cfg.LongPoll.Cluster != nil && !cfg.DisableLongPoll:
			r.sn = cfg.LongPoll.Cluster
		default:
			r.cn = cluster.New(r.ep, cfg.Cluster)
			r.sn = r.cn
		}
	}
	return r
}

// clustered is a shared handler that can span the nodes.
type clustered interface {
	cluster(n *cluster.Node, cfg *Config, service string)
}

// Handle routes topics matching pattern ("todo:*" or an exact topic) to h:
// a LiveState channel from [New] or any plain phx.Handler. With
// Config.SharedLeaser and a PubSub adapter, a shared channel ([NewShared])
// spans the nodes; register it under the same pattern on every node.
func (r *Registry) Handle(pattern string, h phx.Handler) {
	if d, ok := h.(keptDropper); ok {
		r.mu.Lock()
		r.keepers = append(r.keepers, d)
		r.mu.Unlock()
	}
	if c, ok := h.(clustered); ok && r.sn != nil {
		c.cluster(r.sn, &r.cfg, "livestate.shared:"+pattern)
	}
	r.ep.Handle(pattern, h)
}

// Endpoint returns the engine behind the registry.
func (r *Registry) Endpoint() *phx.Endpoint { return r.ep }

// Broadcast publishes an event on topic from anywhere (REST handlers,
// background goroutines): LiveState channels of the topic receive it in
// HandleMessage as a *phx.Broadcast, plain channels' clients as a frame
// encoded once for all of them. With a PubSub adapter it reaches every node,
// without waiting for them (see phx.Endpoint.Broadcast).
func (r *Registry) Broadcast(ctx context.Context, topic, event string, payload any) (int, error) {
	return r.ep.Broadcast(ctx, topic, event, payload)
}

// DisconnectID closes every connection whose connect hook set
// phx.ConnectInfo.ID to id, on every node, both transports (see
// phx.Endpoint.DisconnectID). It returns how many local connections it
// closed.
func (r *Registry) DisconnectID(ctx context.Context, id string) (int, error) {
	return r.ep.DisconnectID(ctx, id)
}

// Shutdown closes every connection (WebSocket close 1012, long-poll
// sessions ended) in batches (phx.Config.DrainBatchSize, DrainInterval)
// and waits for the channels' close hooks, or until ctx ends; channels kept
// for resuming end too (their close hooks get phx.ErrShutdown).
func (r *Registry) Shutdown(ctx context.Context) error {
	// The engine drains in batches; the long-poll handler then releases
	// whatever is left.
	epErr := r.ep.Shutdown(ctx)
	var lpErr, cnErr error
	if r.lp != nil {
		lpErr = r.lp.Shutdown(ctx)
	}
	r.mu.Lock()
	keepers := r.keepers
	r.mu.Unlock()
	for _, d := range keepers {
		d.dropKept(ctx)
	}
	if r.cn != nil {
		cnErr = r.cn.Close(ctx)
	}
	return errors.Join(epErr, lpErr, cnErr)
}

// Handler returns the http.Handler of the registry's socket: it serves
// <mount>/websocket and <mount>/longpoll under any mount point (chi's
// r.Mount, http.ServeMux with or without http.StripPrefix).
func Handler(reg *Registry) http.Handler {
	opts := reg.cfg.Socket
	if opts.CheckOrigin == nil && reg.cfg.Origin != nil {
		opts.CheckOrigin = reg.cfg.Origin.Allowed
	}
	if opts.LongPoll == nil && reg.lp != nil {
		opts.LongPoll = reg.lp
	}
	return handler.New(reg.ep, opts)
}
