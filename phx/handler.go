package phx

import "context"

// Handler serves the channels of the topics it is routed with
// [Endpoint.Handle]. One Handler value serves every join of its topics;
// per-join data belongs in the [Channel] ([Channel.Set]) or in a value made
// per join.
type Handler interface {
	// Join is called for each phx_join. A nil error accepts the join and reply
	// becomes the join reply's response ({} when nil). A [*JoinError] refuses
	// it with its response; any other error refuses it with
	// {"reason": err.Error()}. Join must not push (Phoenix forbids it too):
	// do that in [AfterJoiner].
	Join(ctx context.Context, ch *Channel, params Payload) (reply any, err error)
}

// InHandler handles client events on a joined channel (anything but the
// phx_* system events). A non-nil reply is sent as the phx_reply to the
// message's ref; a non-nil error is sent as an error reply
// {"reason": err.Error()}. Returning (nil, nil) sends nothing now; the
// channel may answer later with [Channel.Reply].
type InHandler interface {
	HandleIn(ctx context.Context, ch *Channel, msg *Message) (*Reply, error)
}

// valueInHandler is an [InHandler] that also takes a client event by value
// (livestate's handlers do): the channel calls HandleInValue instead of
// HandleIn, so that the event's Message is not moved to the heap (a
// pointer passed to an interface method always is). HandleInValue must do
// what HandleIn does.
type valueInHandler interface {
	HandleInValue(ctx context.Context, ch *Channel, msg Message) (*Reply, error)
}

// InfoHandler receives values sent with [Channel.Send] and broadcasts on
// topics the channel subscribed to with [Channel.Subscribe] (as *Broadcast).
type InfoHandler interface {
	HandleInfo(ctx context.Context, ch *Channel, msg any) error
}

// OutHandler intercepts broadcasts on the channel's own topic. Without it
// broadcasts go straight to the client, encoded once for all subscribers.
type OutHandler interface {
	HandleOut(ctx context.Context, ch *Channel, b *Broadcast) error
}

// AfterJoiner runs right after the join reply has been queued, before any
// other message of the channel is handled.
type AfterJoiner interface {
	AfterJoin(ctx context.Context, ch *Channel) error
}

// Terminator is told why the channel ended: [ErrLeft], [ErrDisconnected],
// [ErrDuplicateJoin], [ErrShutdown], [ErrServerClose], [ErrCrashed] or
// [ErrSlowConsumer]. It runs after every message queued before the end was
// handled; its context is not cancelled by the end of the connection.
type Terminator interface {
	Terminate(ctx context.Context, ch *Channel, reason error)
}

// Broadcast is a message published to a topic.
type Broadcast struct {
	Topic   string
	Event   string
	Payload Payload
}

// HandlerFuncs builds a Handler from functions; nil fields are left out.
type HandlerFuncs struct {
	JoinFunc func(ctx context.Context, ch *Channel, params Payload) (any, error)
	InFunc   func(ctx context.Context, ch *Channel, msg *Message) (*Reply, error)
	InfoFunc func(ctx context.Context, ch *Channel, msg any) error
}

// Join calls JoinFunc, or accepts the join when it is nil.
func (f HandlerFuncs) Join(ctx context.Context, ch *Channel, params Payload) (any, error) {
	if f.JoinFunc == nil {
		return nil, nil
	}
	return f.JoinFunc(ctx, ch, params)
}

// HandleIn calls InFunc, or answers {"reason":"unhandled event"}.
func (f HandlerFuncs) HandleIn(ctx context.Context, ch *Channel, msg *Message) (*Reply, error) {
	if f.InFunc == nil {
		return Err(map[string]string{"reason": "unhandled event"}), nil
	}
	return f.InFunc(ctx, ch, msg)
}

// HandleInfo calls InfoFunc when set.
func (f HandlerFuncs) HandleInfo(ctx context.Context, ch *Channel, msg any) error {
	if f.InfoFunc == nil {
		return nil
	}
	return f.InfoFunc(ctx, ch, msg)
}
