package phx

import (
	"context"
)

// PubSub carries broadcasts between the nodes of a cluster so that clients
// of one topic connected to different servers see each other's messages.
// The default (Config.PubSub nil) is in-process only. Adapters for Redis and
// NATS live in their own modules (pubsub/redis, pubsub/nats).
//
// The endpoint declares local interest per topic: Subscribe when a topic
// gets its first local subscriber, Unsubscribe when it loses its last one,
// so adapters that subscribe per topic carry only the traffic this node
// needs; adapters that share one bus channel may ignore both. These calls
// never run on a connection's path: joins succeed at once, and broadcasts
// from other nodes on a new topic arrive once Subscribe has returned nil
// (Config.JoinAwaitsSubscription makes the join's reply wait for that,
// while the connection is read on).
//
// What the endpoint guarantees and expects:
//
//   - For one topic, calls come one at a time and in order, and alternate
//     (Subscribe, Unsubscribe, Subscribe, ...) except after an error: a
//     failed call is retried with backoff (100ms doubling to 5s) while it
//     is still wanted, so Subscribe and Unsubscribe must be idempotent.
//     Interest that flips while a call is under way is coalesced: only the
//     calls that change the outcome are made. Calls for different topics
//     run concurrently (Config.SubscribeConcurrency).
//   - Subscribe returns nil once the subscription is in place (broadcasts
//     published after that reach this node), or an error; an adapter may
//     keep a failed subscription and make it by itself when the broker is
//     back.
//   - Publish is called from one goroutine, in the order the broadcasts
//     were made on this node. A slow Publish delays only the broadcasts
//     queued behind it (Config.PublishQueue), never the caller of
//     Broadcast.
//   - Every call must return soon after its ctx ends: Shutdown cancels it.
type PubSub interface {
	// NodeName names this node uniquely in the cluster.
	NodeName() string
	// Subscribe declares local interest in topic.
	Subscribe(ctx context.Context, topic string) error
	// Unsubscribe withdraws it.
	Unsubscribe(ctx context.Context, topic string) error
	// Publish sends m to the other nodes (only to m.ToNode when set).
	Publish(ctx context.Context, m *Envelope) error
	// Run receives messages from other nodes and hands each to deliver until
	// ctx ends; it reconnects by itself. It returns ctx.Err() or a fatal
	// error.
	Run(ctx context.Context, deliver func(*Envelope)) error
}

// Envelope is a message between nodes.
type Envelope struct {
	// FromNode is the publishing node's name.
	FromNode string `json:"from"`
	// ToNode addresses one node; empty means every node.
	ToNode string `json:"to,omitempty"`
	// Topic, Event and Payload are the broadcast.
	Topic   string `json:"topic"`
	Event   string `json:"event"`
	Payload []byte `json:"payload"`
	// Binary marks a binary payload.
	Binary bool `json:"binary,omitempty"`
}
