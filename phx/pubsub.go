package phx

import (
	"context"
)

// PubSub carries broadcasts between the nodes of a cluster so that clients
// of one topic connected to different servers see each other's messages.
// The default (Config.PubSub nil) is in-process only. Adapters for Redis and
// NATS live in their own modules (pubsub/redis, pubsub/nats).
//
// The endpoint calls Subscribe when a topic gets its first local subscriber
// and Unsubscribe when it loses its last one, so adapters that subscribe per
// topic carry only the traffic this node needs; adapters that share one bus
// channel may ignore both.
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
