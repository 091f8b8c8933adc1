// Package phx is the transport-agnostic Phoenix Channels engine of Seance.
//
// It knows the wire protocol (v2 JSON text frames, v2 binary frames and the
// legacy v1 JSON objects), the per-connection [Session] with its channels,
// topic routing ([Endpoint.Handle]) and the in-process publish/subscribe hub
// behind [Endpoint.Broadcast]. It does not know HTTP: transports such as the
// WebSocket handler (package handler) and the long-poll transport (package
// longpoll) decode nothing themselves; they hand inbound frames to
// [Session.Receive] and write what [Session.Next] returns.
//
// A channel is any value implementing [Handler]. Optional interfaces add
// behaviour: [InHandler] for client events, [InfoHandler] for messages sent
// with [Channel.Send] or from extra subscriptions, [OutHandler] to intercept
// broadcasts on the channel's own topic, [AfterJoiner] for work that must
// follow the join reply, and [Terminator] for a close hook.
//
// All callbacks of one channel run one at a time, in arrival order, on a
// goroutine of the endpoint's worker pool that serves the channel only
// while it has work: an idle channel costs no goroutine, and a callback that
// blocks never delays other channels (a new worker starts when none is
// idle; idle workers exit after a short while). A transport may run a
// client event of an idle channel on its own goroutine instead
// ([Session.ReceiveInline]), in the same order. Methods of [Channel] are
// safe for concurrent use.
//
// # Observing the engine
//
// [Config.Observer] (observer.go) is the one place the engine reports what
// it does — connections, frames, queue drops, joins, events, channel ends —
// for metrics (observe/prometheus) and traces (observe/otel); the
// transports report through it too. Logs carry one set of attributes:
// [Session.Logger] and [Channel.Logger].
//
// # Protocol rules the engine implements
//
//   - heartbeat ("phoenix"/"heartbeat") gets an ok reply with a null join_ref;
//   - a join on a topic no route matches gets {"reason":"unmatched topic"}
//     with a null join_ref; past [Config.MaxChannels] joined channels it gets
//     {"reason":"too many channels joined"}; a panicking Join handler gets
//     {"reason":"join crashed"};
//   - a second join of a joined topic closes the old channel: the new join's
//     reply is written first, then phx_close for the old join_ref;
//   - messages carrying a join_ref other than the channel's are dropped;
//   - phx_leave gets an ok reply followed by phx_close;
//   - a panic in a channel callback sends phx_error {"reason":"channel_crash"}
//     for that channel only; the connection and its other channels go on;
//   - refs are echoed exactly as received; payloads sent are never null;
//   - a message whose topic or event name is longer than
//     [Config.MaxTopicBytes] or [Config.MaxEventBytes] gets
//     {"reason":"topic too long"} or {"reason":"event too long"}.
//
// # Malformed input
//
// A text frame that is not a JSON array of five elements with string or null
// refs and string topic and event, or a binary frame whose header does not fit
// its length, or a text frame (or the refs, topic or event of a binary frame)
// that is not valid UTF-8, makes [Session.Receive] return a [*CloseError]
// with code 1007 (invalid frame payload data); transports close the
// connection with it. The session never panics on input.
package phx
