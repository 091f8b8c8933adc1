package livestate

import (
	"context"
	"net/http"

	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

// Config configures a [Registry]. Zero fields take the defaults.
type Config struct {
	// Engine holds the per-connection limits (channels per connection,
	// outbound queue) and the logger.
	Engine phx.Config
	// Socket configures the transports: connect hook, origin check, idle
	// timeout, frame size limit.
	Socket handler.Options
}

// Registry routes topics to channels and serves them; it is the
// router-friendly entry point of the package.
type Registry struct {
	cfg Config
	ep  *phx.Endpoint
}

// NewRegistry returns an empty registry.
func NewRegistry(cfg Config) *Registry {
	return &Registry{cfg: cfg, ep: phx.NewEndpoint(cfg.Engine)}
}

// Handle routes topics matching pattern ("todo:*" or an exact topic) to h:
// a LiveState channel from [New] or any plain phx.Handler.
func (r *Registry) Handle(pattern string, h phx.Handler) { r.ep.Handle(pattern, h) }

// Endpoint returns the engine behind the registry.
func (r *Registry) Endpoint() *phx.Endpoint { return r.ep }

// Broadcast publishes an event on topic from anywhere (REST handlers,
// background goroutines): LiveState channels of the topic receive it in
// HandleMessage as a *phx.Broadcast, plain channels' clients as a frame.
func (r *Registry) Broadcast(topic, event string, payload any) (int, error) {
	return r.ep.Broadcast(topic, event, payload)
}

// Shutdown closes every connection (WebSocket close 1012) and waits for the
// channels' close hooks, or until ctx ends.
func (r *Registry) Shutdown(ctx context.Context) error { return r.ep.Shutdown(ctx) }

// Handler returns the http.Handler of the registry's socket: it serves
// <mount>/websocket under any mount point (chi's r.Mount, http.ServeMux with
// or without http.StripPrefix).
func Handler(reg *Registry) http.Handler {
	return handler.New(reg.ep, reg.cfg.Socket)
}
