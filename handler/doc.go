// Package handler is Seance's WebSocket transport and the HTTP entry of a
// socket mount.
//
// [New] returns an http.Handler that serves <mount>/websocket (and, when
// [Options.LongPoll] is set, hands <mount>/longpoll to it). It routes on the
// path suffix, so it works unchanged under chi's r.Mount("/socket", h) (chi
// does not strip the prefix), under http.ServeMux's mux.Handle("/socket/", h)
// and under http.StripPrefix.
//
// The connect step is shared with the long-poll transport through
// [Connector]: protocol version negotiation (vsn 2.0.x and 1.0.x; anything
// else is refused with 403), connect parameters (bracket keys decoded into
// nested maps, bounded by [ParamLimits] before anything is parsed), the
// phoenix.js 1.8 auth token and the application's
// [ConnectFunc] hook, which may refuse the connection or attach an identity
// that channels read with phx.Channel.Identity.
//
// # Memory per connection
//
// On Linux, an idle WebSocket connection over TCP holds no goroutine, only
// its structures and a small read buffer ([Options.ReadBufferSize]): one
// epoll instance per Handler watches the idle sockets, and the messages
// that arrive are read and handled on pooled goroutines (the epoll
// instance is itself parked in the Go runtime's poller, by one goroutine
// for all of them). After a message the pooled goroutine keeps the
// connection for [Options.ParkAfter], waiting for the next one as a
// goroutine per connection would, so a busy client is served without a
// hand-off or an epoll call per message; a connection silent for that long
// is parked again. Over plain TCP that wait reads the socket once per
// message, not twice: the goroutine stays inside one RawConn.Read while
// messages come, so a socket it found empty after a read is waited on
// without reading it again first (a goroutine per connection, gorilla's
// included, reads every message and then an empty socket before it
// waits). A client event whose channel is idle runs on the goroutine that
// read it (phx.Session.ReceiveInline), which then writes
// the reply: no goroutine hand-off between the socket and the channel
// callback. A slow callback holds up the socket's heartbeats and other
// channels only until the poller's next sweep but one (at most 500 ms),
// which hands the socket to another goroutine. Over TLS the poller
// watches the TCP connection under crypto/tls, and before a connection is
// left to it the records crypto/tls has already read are looked at (a read
// that may not wait): idle TLS connections hold no goroutine either. On
// other systems each connection reads on a goroutine of its own and its
// events run on the endpoint's workers.
//
// gorilla/websocket reads the frames, except the common one (Linux, plain
// TCP): a message that is a single final, masked, uncompressed frame of at
// most 16 KiB, already whole in the read buffer, is unmasked by the handler
// straight into the slice handed to the session. Control frames, fragments
// and everything gorilla refuses still go through gorilla.
//
// # Writing
//
// The handler frames outbound messages itself (gorilla/websocket reads and
// upgrades): all frames queued for a connection go out in one vectored
// write, headers and small payloads packed into a buffer lent by the pool
// ([Options.WriteBufferSize], [Options.WriteBufferPool]) for that write
// only. The goroutine that queues a frame for an idle connection — a
// channel callback, a heartbeat reply — writes it itself when the socket
// takes it without blocking (Linux, plain TCP), saving a goroutine
// hand-off per event; what the socket cannot take yet, broadcasts to many
// connections and writes over TLS go to pooled writer goroutines, bounded by
// [Options.WriteTimeout] (see phx.Session.SetNotify). Client pings are
// answered with pongs through the same path.
//
// # Compression
//
// With [Options.Compression] enabled, permessage-deflate (RFC 7692) is
// negotiated with each client that offers it, in its no-context-takeover
// form only ("server_no_context_takeover; client_no_context_takeover"):
// every message is compressed on its own, so an idle connection holds no
// compressor or decompressor. An offer the server cannot honour (a
// server_max_window_bits below 15: compress/flate always uses a 32 KiB
// window) is declined and the connection goes on uncompressed. Messages from
// [Compression.Threshold] bytes on are compressed with pooled flate writers
// (RSV1 set), smaller ones and control frames go out as they are, as does a
// message that compression would not make smaller. A frame queued to many
// connections (a broadcast, a phx.Prepared push) is compressed once, at its
// first write, and that form is shared by every connection that negotiated
// compression (phx.Frame.Shared). gorilla/websocket inflates compressed
// client messages; what they inflate to is bounded by
// [Options.MaxFrameSize] (close 1009). Phoenix calls this option
// `compress: true`.
//
// # Close codes
//
// The WebSocket transport closes connections with:
//
//	1001  idle timeout (no frame from the client for Options.IdleTimeout)
//	1007  malformed frame, text that is not valid UTF-8 (see package phx),
//	      or a compressed message that does not inflate
//	1008  the client stopped reading: its outbound queue overflowed, or a
//	      write waited Options.WriteTimeout
//	1009  frame larger than Options.MaxFrameSize, or a compressed message
//	      inflating past it
//	1012  server shutdown (phx.Endpoint.Shutdown)
//
// phoenix.js reconnects after each of them. A client that stopped reading
// still gets its 1008: the queue is dropped, the frame the server was in the
// middle of is finished, then the close frame follows, within
// [Options.CloseTimeout]. After any close frame the server shuts down its
// side of the connection and, on Linux, keeps the socket open until the
// client's TCP stack has acknowledged everything written (or the client has
// answered), within the same time: closing a socket with input unread resets
// it, and the reset would discard a close frame still on its way to a client
// that reads slowly. A client that does not read within CloseTimeout has its
// connection closed without a close frame: browsers report 1006.
//
// Refused upgrades (origin, connect hook, protocol version, subprotocol, a
// bad handshake) are answered with an HTTP status and "Connection: close".
package handler
