package phx

import (
	"errors"
	"strconv"
)

// WebSocket close codes the engine asks transports to use. phoenix.js
// reconnects after any code but 1000.
const (
	// CloseGoingAway (1001): idle timeout or a server-side disconnect.
	CloseGoingAway = 1001
	// CloseInvalidData (1007): a malformed frame.
	CloseInvalidData = 1007
	// ClosePolicyViolation (1008): the client stopped reading and its outbound
	// queue overflowed.
	ClosePolicyViolation = 1008
	// CloseTooBig (1009): a frame above the transport's size limit.
	CloseTooBig = 1009
	// CloseServiceRestart (1012): the server is shutting down.
	CloseServiceRestart = 1012
)

// CloseError asks the transport to end the connection with a close code.
// As the reason a channel ended it matches (errors.Is) the end reason it
// stands for: [ErrShutdown] for 1012, [ErrSlowConsumer] for 1008 when the
// engine closed for those, [ErrDisconnected] otherwise (idle timeout,
// malformed or oversized frame).
type CloseError struct {
	Code   int
	Reason string

	cause error
}

func (e *CloseError) Error() string {
	return "phx: close " + strconv.Itoa(e.Code) + ": " + e.Reason
}

// Unwrap returns the end reason the close stands for.
func (e *CloseError) Unwrap() error {
	if e.cause != nil {
		return e.cause
	}
	return ErrDisconnected
}

// Reasons a channel or session ends; a [Terminator] receives one of them
// (compare with errors.Is).
var (
	// ErrLeft: the client sent phx_leave.
	ErrLeft = errors.New("phx: channel left by the client")
	// ErrDisconnected: the connection ended (client gone, idle timeout,
	// malformed frame).
	ErrDisconnected = errors.New("phx: connection closed")
	// ErrDuplicateJoin: the client joined the same topic again.
	ErrDuplicateJoin = errors.New("phx: channel replaced by a duplicate join")
	// ErrShutdown: [Endpoint.Shutdown] was called.
	ErrShutdown = errors.New("phx: server shutting down")
	// ErrServerClose: the channel was closed by [Channel.Close].
	ErrServerClose = errors.New("phx: channel closed by the server")
	// ErrCrashed: a callback of the channel panicked.
	ErrCrashed = errors.New("phx: channel crashed")
	// ErrSlowConsumer: the client did not read fast enough and its outbound
	// queue overflowed.
	ErrSlowConsumer = errors.New("phx: outbound queue full (slow consumer)")
	// ErrJoinRefused: the join was refused (Join or BeforeJoin returned an
	// error, or Join panicked); only [Channel.OnEnd] hooks see it.
	ErrJoinRefused = errors.New("phx: join refused")
)

// Errors returned by [Channel] methods.
var (
	// ErrChannelClosed: the channel has ended.
	ErrChannelClosed = errors.New("phx: channel closed")
	// ErrNotJoined: Push was called before the join reply was sent (from
	// inside Join). Use [AfterJoiner] for work that must follow the join.
	ErrNotJoined = errors.New("phx: channel not joined yet")
)

// JoinError refuses a join with a response sent verbatim as the join reply's
// response, e.g. &JoinError{Response: map[string]any{"reason": "unauthorized"}}.
// Any other error returned by [Handler.Join] is sent as {"reason": err.Error()}.
type JoinError struct {
	Response any
}

func (e *JoinError) Error() string { return "phx: join refused" }

// closeErrorFor maps a session end reason to what the transport sends.
func closeErrorFor(reason error) *CloseError {
	var ce *CloseError
	switch {
	case errors.As(reason, &ce):
		return ce
	case errors.Is(reason, ErrShutdown):
		return &CloseError{Code: CloseServiceRestart, Reason: "server restart", cause: ErrShutdown}
	case errors.Is(reason, ErrSlowConsumer):
		return &CloseError{Code: ClosePolicyViolation, Reason: "slow consumer", cause: ErrSlowConsumer}
	}
	return &CloseError{Code: CloseGoingAway, Reason: "disconnected", cause: ErrDisconnected}
}
