package phx

import (
	"context"
	"errors"
	"time"
)

// Observer receives what the engine does, for metrics, traces and logs:
// the one place where Seance reports on itself. Set it in
// [Config.Observer]; every field is optional and a nil field (or a nil
// Observer) costs a nil check. The transports (handler, longpoll) report
// through the engine, so one Observer sees every connection.
//
// The callbacks run on the engine's goroutines, often on the hot path of a
// frame: they must be fast and must not block, call back into the session,
// or retain the values they receive beyond the call.
//
// Labels: a callback receives the route pattern the topic matched
// ("room:*"), the transport and a reason from a fixed set, all of bounded
// cardinality and fit for metric labels. [EventInfo.Topic] and
// [EventInfo.Event] come from clients: use them in traces and logs, never
// as metric labels. Nothing an observer receives carries a token.
//
// Combine observers with [Observers].
type Observer struct {
	// ConnOpened: a transport opened a session.
	ConnOpened func(transport string)
	// ConnClosed: a transport let go of its session; reason is one of
	// "disconnected", "idle", "shutdown", "slow_consumer", "invalid_data",
	// "too_big" or "other" (see [CloseReason]).
	ConnClosed func(transport, reason string)
	// FrameIn: one inbound frame of size bytes was received.
	FrameIn func(transport string, bytes int)
	// FramesOut: the transport took frames from the outbound queue (all that
	// were queued: frames is the queue's length when it was drained)
	// totalling bytes.
	FramesOut func(transport string, frames, bytes int)
	// QueueDropped: a slow consumer's outbound queue overflowed
	// ([Config.QueueLength], [Config.QueueBytes]); frames and bytes were
	// queued and are dropped, and the connection closes with reason
	// "slow_consumer".
	QueueDropped func(transport string, frames, bytes int)

	// JoinStart runs before a join is handled (BeforeJoin and
	// [Handler.Join]); the context it returns is the one they receive, so
	// a tracer starts a span here. Err and Duration are not set yet.
	JoinStart func(ctx context.Context, e EventInfo) context.Context
	// JoinDone runs once the join was answered, with the context JoinStart
	// returned, e.Err set when it was refused (e.Crashed when it panicked)
	// and e.Duration.
	JoinDone func(ctx context.Context, e EventInfo)
	// EventStart runs before a client event reaches [InHandler.HandleIn];
	// the context it returns is the one HandleIn receives.
	EventStart func(ctx context.Context, e EventInfo) context.Context
	// EventDone runs after HandleIn returned, with the context EventStart
	// returned, e.Err set when it returned an error or an error reply
	// (e.Crashed when it panicked) and e.Duration.
	EventDone func(ctx context.Context, e EventInfo)
	// ChannelEnded: a joined channel ended; reason is one of "left",
	// "disconnected", "duplicate_join", "shutdown", "server_close",
	// "crashed", "slow_consumer" (see [EndReason]).
	ChannelEnded func(pattern, transport, reason string)

	// StateSent: a LiveState channel sent its state; full tells a whole
	// state (join, refresh, or no patch known) from a patch. Reported by
	// the livestate package. For shared states, one call per update,
	// whatever the number of members.
	StateSent func(pattern string, full bool, bytes int)
}

// EventInfo describes a join or a client event to an [Observer].
type EventInfo struct {
	// Pattern is the route pattern the topic matched ("room:*"): a label.
	Pattern string
	// Transport is "websocket" or "longpoll": a label.
	Transport string
	// Topic and Event are what the client sent ("phx_join" for joins):
	// not labels, their cardinality is the clients' choice.
	Topic, Event string
	// JoinRef is the channel's join_ref.
	JoinRef string
	// Duration is how long the handler took (Done callbacks only).
	Duration time.Duration
	// Err is the refusal of a join or the error of an event (Done
	// callbacks only); an error reply counts as an error.
	Err error
	// Crashed tells that the handler panicked (Done callbacks only).
	Crashed bool
}

// Observers returns an Observer that calls each of obs in turn (nil
// entries skipped); the Start callbacks pass the context along. It returns
// nil when none is given, and obs[0] alone when there is one.
func Observers(obs ...*Observer) *Observer {
	var list []*Observer
	for _, o := range obs {
		if o != nil {
			list = append(list, o)
		}
	}
	switch len(list) {
	case 0:
		return nil
	case 1:
		return list[0]
	}
	var m Observer
	for _, o := range list {
		m.ConnOpened = chain1(m.ConnOpened, o.ConnOpened)
		m.ConnClosed = chain2(m.ConnClosed, o.ConnClosed)
		m.FrameIn = chain2(m.FrameIn, o.FrameIn)
		m.FramesOut = chain3(m.FramesOut, o.FramesOut)
		m.QueueDropped = chain3(m.QueueDropped, o.QueueDropped)
		m.JoinStart = chainStart(m.JoinStart, o.JoinStart)
		m.JoinDone = chain2(m.JoinDone, o.JoinDone)
		m.EventStart = chainStart(m.EventStart, o.EventStart)
		m.EventDone = chain2(m.EventDone, o.EventDone)
		m.ChannelEnded = chain3(m.ChannelEnded, o.ChannelEnded)
		m.StateSent = chain3(m.StateSent, o.StateSent)
	}
	return &m
}

func chain1[A any](f, g func(A)) func(A) {
	if f == nil || g == nil {
		if f == nil {
			return g
		}
		return f
	}
	return func(a A) { f(a); g(a) }
}

func chain2[A, B any](f, g func(A, B)) func(A, B) {
	if f == nil || g == nil {
		if f == nil {
			return g
		}
		return f
	}
	return func(a A, b B) { f(a, b); g(a, b) }
}

func chain3[A, B, C any](f, g func(A, B, C)) func(A, B, C) {
	if f == nil || g == nil {
		if f == nil {
			return g
		}
		return f
	}
	return func(a A, b B, c C) { f(a, b, c); g(a, b, c) }
}

func chainStart(f, g func(context.Context, EventInfo) context.Context) func(context.Context, EventInfo) context.Context {
	if f == nil || g == nil {
		if f == nil {
			return g
		}
		return f
	}
	return func(ctx context.Context, e EventInfo) context.Context { return g(f(ctx, e), e) }
}

// CloseReason maps the error a session closed with to the bounded label
// [Observer.ConnClosed] receives.
func CloseReason(err error) string {
	var ce *CloseError
	if errors.As(err, &ce) {
		switch ce.Code {
		case CloseGoingAway:
			if ce.Reason == idleReason {
				return "idle"
			}
			return "disconnected"
		case CloseInvalidData:
			return "invalid_data"
		case ClosePolicyViolation:
			return "slow_consumer"
		case CloseTooBig:
			return "too_big"
		case CloseServiceRestart:
			return "shutdown"
		}
		return "other"
	}
	switch {
	case errors.Is(err, ErrShutdown):
		return "shutdown"
	case errors.Is(err, ErrSlowConsumer):
		return "slow_consumer"
	case err == nil, errors.Is(err, ErrDisconnected):
		return "disconnected"
	}
	return "other"
}

// idleReason is the close reason of [IdleTimeout].
const idleReason = "idle timeout"

// IdleTimeout returns the close error transports end an idle connection
// with (1001 "idle timeout"); channels see it as [ErrDisconnected] and an
// [Observer] as reason "idle".
func IdleTimeout() *CloseError {
	return &CloseError{Code: CloseGoingAway, Reason: idleReason}
}

// EndReason maps a channel end reason (what a [Terminator] receives) to the
// bounded label [Observer.ChannelEnded] receives.
func EndReason(err error) string {
	switch {
	case errors.Is(err, ErrLeft):
		return "left"
	case errors.Is(err, ErrDuplicateJoin):
		return "duplicate_join"
	case errors.Is(err, ErrShutdown):
		return "shutdown"
	case errors.Is(err, ErrServerClose):
		return "server_close"
	case errors.Is(err, ErrCrashed):
		return "crashed"
	case errors.Is(err, ErrSlowConsumer):
		return "slow_consumer"
	case errors.Is(err, ErrJoinRefused):
		return "join_refused"
	}
	return "disconnected"
}
