package livestate

import (
	"context"

	"github.com/seance-go/seance/phx"
)

// Channel is a LiveState channel with synced state of type S. [New] makes a
// fresh value per join, so fields of the implementing type are server-only
// per-client values that are never synced; only S, encoded with
// encoding/json (struct tags, json.Marshaler), reaches the client.
type Channel[S any] interface {
	// Init builds the initial state from the join params (the client's
	// `params`). An error is pushed to the client as an `error` event and the
	// channel stays joined without state.
	Init(ctx context.Context, s *Socket, params phx.Payload) (S, error)
	// HandleEvent handles the client event lvs_evt:<event>. It changes
	// *state in place; the change is synced when it returns, even with an
	// error, which is also pushed as an `error` event.
	HandleEvent(ctx context.Context, s *Socket, event string, payload phx.Payload, state *S) error
}

// Authorizer may refuse a join before Init runs. A *phx.JoinError is sent
// verbatim as the join reply's response; any other error as
// {"reason": err.Error()}.
type Authorizer interface {
	Authorize(ctx context.Context, s *Socket, params phx.Payload) error
}

// MessageHandler receives values sent with [Socket.Send], and broadcasts
// (as *phx.Broadcast, from [Registry.Broadcast] for one) on the channel's
// topic or on topics it subscribed to with [Socket.Subscribe]. Changes to *state
// and emitted events are synced as for client events.
type MessageHandler[S any] interface {
	HandleMessage(ctx context.Context, s *Socket, msg any, state *S) error
}

// Closer is told why the channel ended: phx.ErrLeft, phx.ErrDisconnected,
// phx.ErrDuplicateJoin, phx.ErrShutdown, phx.ErrServerClose,
// phx.ErrCrashed or phx.ErrSlowConsumer (compare with errors.Is). A channel
// kept after a disconnect for its client to resume (Options.ResumeGrace)
// is told only when that ends: [ErrResumeExpired] if nobody resumed it.
type Closer interface {
	Closed(ctx context.Context, s *Socket, reason error)
}

// ErrorPayload lets an error choose the payload of the `error` event pushed
// for it; other errors are sent as {"message": err.Error()}.
type ErrorPayload interface {
	error
	ErrorPayload() any
}
