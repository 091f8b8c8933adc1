// Package nats connects the Seance servers of a cluster through NATS core
// subjects, so that clients of one topic connected to different servers see
// each other's broadcasts. It implements phx.PubSub on
// github.com/nats-io/nats.go and lives in its own Go module
// (github.com/seance-go/seance/pubsub/nats).
//
//	ps, err := nats.New(nats.Options{URL: "nats://nats:4222", Node: os.Getenv("POD_NAME")})
//	if err != nil { … }
//	defer ps.Close()
//	reg := livestate.NewRegistry(livestate.Config{Engine: phx.Config{PubSub: ps}})
//
// It behaves as pubsub/redis (read that package's documentation for the
// measurements behind the default mode) and shares its versioned message
// encoding and loss counting: [Topics] (the default) puts each topic on its
// own subject "<namespace>.t.<token>", subscribed while the node has local
// subscribers, and direct messages on "<namespace>.n.<token>"; [Bus] puts
// everything on "<namespace>.bus". Tokens are the base64url of the topic
// or node name, so any topic is a valid subject.
//
// Differences from pubsub/redis: the NATS client reconnects and
// resubscribes by itself and buffers publishes while reconnecting (8 MiB by
// default), so a short outage loses fewer broadcasts; Publish fails only
// when that buffer is full or the connection is closed. A Subscribe made
// while connected returns once the server has registered the subscription
// (a flush round trip); made while disconnected it returns an error and the
// subscription is made on reconnect (the endpoint retries until then). Received messages wait in a buffer of
// Options.Buffer messages for the receive loop; NATS drops what overflows
// it, and receivers count such losses in [Stats].Lost.
//
// Long-poll sessions need sticky sessions, as with pubsub/redis.
//
// [NewHistory] is a history.Store in a JetStream stream: with it as
// history.Options.Store (and the registry's endpoint as Options.Endpoint),
// a client cut off from one node recovers what it missed on any other.
package nats
