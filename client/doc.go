// Package client is a Go client for Phoenix Channels servers (protocol
// v2.0.0, and v1 on request): the seance server in this module, or any
// Elixir Phoenix endpoint.
//
// A Socket connects over WebSocket or long-poll (Options.Transport),
// sends heartbeats, reconnects with backoff and rejoins its channels; a
// Channel joins a topic, pushes events and receives the server's pushes and
// broadcasts, in JSON or binary frames. The protocol follows phoenix.js:
// refs are decimal strings from one counter per Socket, pushes made before a
// channel is joined are buffered, a timed-out join is followed by phx_leave
// and a rejoin with backoff.
//
// Two styles share one core.
//
// Blocking calls with a context, for simple programs:
//
//	s, err := client.Dial(ctx, "ws://localhost:4000/socket", nil)
//	ch, resp, err := s.Join(ctx, "room:lobby", map[string]any{"nick": "ann"})
//	ch.On("new_msg", func(m client.Message) { … })
//	reply, err := ch.Push(ctx, "new_msg", map[string]any{"body": "hi"})
//	err = ch.Leave(ctx)
//	s.Close()
//
// A behaviour style like Elixir's phoenix_gen_socket_client: set
// Options.Handler to a Handler (embed BaseHandler) and the Socket calls it
// for connects, disconnects, join results, closed channels, replies to
// PushAsync and messages — always on one goroutine per Socket, so the
// Handler needs no locks. Its Decision results choose whether and when to
// reconnect or rejoin.
//
// Close stops everything the Socket started. Errors are values: ErrTimeout,
// ErrClosed, ErrChannelClosed, *JoinError with the server's response, and
// others listed below.
//
// The subpackage livestate mirrors the state of a LiveState channel.
package client
