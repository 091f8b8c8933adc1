package client

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Sentinel errors. Compare with errors.Is.
var (
	// ErrClosed is returned by every call on a Socket after Close, and is
	// the Err of every channel the Socket had when it was closed.
	ErrClosed = errors.New("client: socket closed")

	// ErrTimeout is returned when the server did not answer a join, push or
	// leave within Options.Timeout.
	ErrTimeout = errors.New("client: timeout waiting for reply")

	// ErrChannelClosed is returned by pushes on a channel that was left or
	// closed by the server (phx_close), and is then the channel's Err.
	ErrChannelClosed = errors.New("client: channel closed")

	// ErrDisconnected fails pushes that were sent on a connection that went
	// away before their reply arrived.
	ErrDisconnected = errors.New("client: connection lost before reply")

	// ErrHeartbeatTimeout is the disconnect reason when a heartbeat was not
	// answered before the next one was due.
	ErrHeartbeatTimeout = errors.New("client: heartbeat timeout")

	// ErrSessionGone is the disconnect reason when the long-poll server
	// answers 410 for a session the client holds a token for.
	ErrSessionGone = errors.New("client: long-poll session gone")

	errNotJoined     = errors.New("client: channel has not been joined")
	errAlreadyJoined = errors.New("client: channel was already joined")
)

// JoinError is returned when the server refuses a join with a non-ok reply.
type JoinError struct {
	Topic    string
	Status   string          // the reply status, usually "error"
	Response json.RawMessage // the server's response, verbatim
}

// Reason returns the "reason" member of the response, if it is an object
// with a string reason (Phoenix: {"reason":"unmatched topic"}), or the
// response itself when it is a bare JSON string.
func (e *JoinError) Reason() string {
	return reasonOf(e.Response)
}

// Error implements error.
func (e *JoinError) Error() string {
	if r := e.Reason(); r != "" {
		return fmt.Sprintf("client: join %q refused: %s", e.Topic, r)
	}
	return fmt.Sprintf("client: join %q refused: %s %s", e.Topic, e.Status, e.Response)
}

// ChannelError reports that the server's channel crashed (phx_error).
type ChannelError struct {
	Topic   string
	Payload json.RawMessage // usually {"reason":"channel_crash"}
}

// Error implements error.
func (e *ChannelError) Error() string {
	if r := reasonOf(e.Payload); r != "" {
		return fmt.Sprintf("client: channel %q errored: %s", e.Topic, r)
	}
	return fmt.Sprintf("client: channel %q errored", e.Topic)
}

// ReplyError is what Reply.Err returns for a reply whose status is not "ok".
type ReplyError struct {
	Status   string
	Response []byte
	Binary   bool
}

// Error implements error.
func (e *ReplyError) Error() string {
	if e.Binary {
		return fmt.Sprintf("client: reply status %q (%d bytes)", e.Status, len(e.Response))
	}
	return fmt.Sprintf("client: reply status %q: %s", e.Status, e.Response)
}

// CloseError is the disconnect reason when the server closed the WebSocket
// with a close frame.
type CloseError struct {
	Code int
	Text string
}

// Error implements error.
func (e *CloseError) Error() string {
	return fmt.Sprintf("client: connection closed by server: %d %s", e.Code, e.Text)
}

// HandshakeError reports that the server refused to open the connection:
// a non-101 WebSocket handshake, or a long-poll status such as 403.
type HandshakeError struct {
	StatusCode int
	Err        error
}

// Error implements error.
func (e *HandshakeError) Error() string {
	return fmt.Sprintf("client: server refused connection with status %d", e.StatusCode)
}

// Unwrap returns the underlying dial error, if any.
func (e *HandshakeError) Unwrap() error { return e.Err }

func reasonOf(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var obj struct {
		Reason string `json:"reason"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		return obj.Reason
	}
	return ""
}
