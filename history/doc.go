// Package history keeps a bounded history of the messages published on
// chosen topics and lets a client that was cut off recover what it missed,
// in order, before live messages — or learn that it cannot.
//
// Tracking is opt-in per topic pattern: wrap the handler of the topics that
// need it and publish on them with [History.Broadcast]:
//
//	hist := history.New(history.Options{})
//	reg.Handle("room:*", hist.Handler(room))
//	hist.Broadcast(ctx, "room:lobby", "msg", payload)
//
// Each message has a position in its topic's stream, an offset and an
// epoch (a stream started again, its history lost, gets a new epoch), sent
// as the message's ref ("epoch:offset"); phoenix.js passes it to `on`
// callbacks as their second argument. After every join of a tracked topic
// the client receives [PositionEvent] with the stream's current position. A
// client that rejoins with its last position in the join params,
// {"recover": {"epoch": …, "offset": …}}, receives
// {"recovered": true, …} and then every message it missed, before any live
// message, or {"recovered": false, …} and nothing when the history (bounded
// by count and age) no longer covers the gap or the epoch changed.
//
// The history lives in memory on one node: with several nodes, a client
// recovers only what the node it reconnects to published.
package history
