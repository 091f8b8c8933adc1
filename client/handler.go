package client

import (
	"encoding/json"
	"errors"
	"time"
)

// Handler is the behaviour style of the client, like Elixir's
// phoenix_gen_socket_client: set Options.Handler and the Socket calls these
// methods for everything that happens on it.
//
// All calls for one Socket, together with every Channel.On function and
// Channel.Notify delivery, run one at a time on a single goroutine owned by
// the Socket, in the order the events happened, so a Handler needs no
// locks. Methods may call any Socket or Channel method, including blocking
// ones such as Channel.Push; events that arrive meanwhile wait their turn.
//
// Methods returning a Decision choose what happens next; the socket does
// not reconnect or rejoin until the method returned. Embed BaseHandler to
// implement only some methods.
type Handler interface {
	// Connected is called each time a connection opens.
	Connected(s *Socket)
	// Disconnected is called when a connection attempt failed or an open
	// connection was lost (err says why: *CloseError, *HandshakeError,
	// ErrHeartbeatTimeout, ErrSessionGone, a network error…). Channels
	// still open are rejoined after the next connect; call Channel.Leave
	// here for those that should not be. Not called after Close.
	Disconnected(s *Socket, err error) Decision
	// Joined is called when a join or rejoin succeeded, except for the
	// first attempt of a blocking Channel.Join, which returns the response
	// to its caller instead.
	Joined(ch *Channel, response json.RawMessage)
	// JoinError is called when a join or rejoin was refused (*JoinError) or
	// timed out (ErrTimeout), except for the first attempt of a blocking
	// Channel.Join. Stop closes the channel with err.
	JoinError(ch *Channel, err error) Decision
	// ChannelClosed is called when the server closed the channel
	// (ErrChannelClosed, from phx_close) or it crashed (*ChannelError, from
	// phx_error). Stop closes the channel; otherwise it is rejoined.
	ChannelClosed(ch *Channel, err error) Decision
	// Reply is called with the outcome of a Channel.PushAsync: the server's
	// reply, or an error such as ErrTimeout or ErrDisconnected.
	Reply(ch *Channel, ref string, reply *Reply, err error)
	// Message is called for every event the server sends to a channel,
	// except replies and phx_close/phx_error.
	Message(ch *Channel, msg Message)
}

// Decision tells the Socket what to do after a disconnect, a failed join or
// a closed channel. The zero value means "retry using the configured
// backoff" (ReconnectAfter or RejoinAfter).
type Decision struct {
	// Stop gives up: no reconnect (call Socket.Connect to resume), or the
	// channel is closed.
	Stop bool
	// Delay, if positive, replaces the backoff for this retry.
	Delay time.Duration
}

// BaseHandler implements Handler with phoenix.js behaviour: reconnect with
// backoff, retry failed joins forever, rejoin crashed channels, and stop
// channels the server closed. A Socket without Handler behaves like this.
type BaseHandler struct{}

// Connected does nothing.
func (BaseHandler) Connected(*Socket) {}

// Disconnected asks for a reconnect with backoff.
func (BaseHandler) Disconnected(*Socket, error) Decision { return Decision{} }

// Joined does nothing.
func (BaseHandler) Joined(*Channel, json.RawMessage) {}

// JoinError asks for a rejoin with backoff.
func (BaseHandler) JoinError(*Channel, error) Decision { return Decision{} }

// ChannelClosed stops the channel after phx_close and rejoins it after
// phx_error.
func (BaseHandler) ChannelClosed(_ *Channel, err error) Decision {
	return Decision{Stop: errors.Is(err, ErrChannelClosed)}
}

// Reply does nothing.
func (BaseHandler) Reply(*Channel, string, *Reply, error) {}

// Message does nothing.
func (BaseHandler) Message(*Channel, Message) {}
