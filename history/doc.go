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
// The streams live in a [Store]: by default a [MemoryStore] on each node.
// With several nodes, keep them in the broker, so that a client recovers
// on whichever node it reconnects to, and give the History the endpoint,
// so that every message reaches the topic's clients on every node:
//
//	store, _ := redis.NewHistory(redis.HistoryOptions{Client: rdb}) // pubsub/redis: Redis Streams
//	// or nats.NewHistory(ctx, nats.HistoryOptions{Conn: nc})       // pubsub/nats: JetStream
//	hist := history.New(history.Options{Store: store, Endpoint: reg.Endpoint()})
//
// Nothing waits on the Store on a connection's reader: a join's read (the
// position, or the missed messages) runs after the join reply, off the
// connection's path, bounded by Options.RecoverTimeout; live messages that
// arrive meanwhile are held for the channel (Options.MaxHeld) and follow
// the missed ones, each sent once (by offset). A read that fails or times
// out gives {"recovered": false}. A message that arrives before the one
// before it (another node's, slower) makes the History read the gap from
// the Store; a gap the Store no longer holds is announced with
// {"recovered": false} at the position the channel goes on from.
// [History.Broadcast] appends to the Store first: with a broker Store it
// waits for one round trip, bounded by its ctx, and returns the error.
package history
