// Package redis connects the Seance servers of a cluster through Redis
// pub/sub, so that clients of one topic connected to different servers
// behind a load balancer see each other's broadcasts. It implements
// phx.PubSub on github.com/redis/go-redis/v9 and lives in its own Go module
// (github.com/seance-go/seance/pubsub/redis), so the core module keeps its
// small dependency set and its go directive.
//
//	ps, err := redis.New(redis.Options{Addr: "redis:6379", Node: os.Getenv("POD_NAME")})
//	if err != nil { … }
//	defer ps.Close()
//	reg := livestate.NewRegistry(livestate.Config{Engine: phx.Config{PubSub: ps}})
//
// The endpoint runs the receive loop ([PubSub.Run]) until Shutdown and
// tells the adapter when a topic gains its first or loses its last local
// subscriber. Every broadcast — a channel's Broadcast, a LiveState socket's
// Broadcast, Endpoint.Broadcast and livestate.Registry.Broadcast from REST
// handlers or background goroutines — is delivered locally and published
// once to Redis; each other node decodes it once and serializes the client
// frame once for all its subscribers. LiveState channels get it in
// HandleMessage on every node; since each channel's state lives on the node
// its client is connected to, what crosses nodes is the event, never a
// patch.
//
// # Modes
//
// [Topics] (the default) gives every topic its own Redis channel
// ("<namespace>:t:<topic>") and subscribes a node to it only while the node
// has local subscribers; direct messages go to "<namespace>:n:<node>".
// [Bus] is the Phoenix.PubSub.Redis design: one channel
// ("<namespace>:bus") that every node receives in full, dropping its own
// messages and direct messages for other nodes.
//
// Measured with this package's benchmarks (bench_test.go: medians of 5
// runs of 20,000 broadcasts on a shared 2-vCPU VM, Redis 7.0 on loopback,
// all nodes in one process), as ratios to raw go-redis PUBLISH → SUBSCRIBE
// with 1 subscriber (15 for "dense") measured in the same run. Latency is
// one broadcast at a time, Publish to delivery; throughput uses 64
// concurrent publishers; CPU is this process's (all nodes) per broadcast
// in the throughput run. Baselines: 1 subscriber p50 71µs, p99 140µs,
// 76k deliveries/s; 15 subscribers p50 133µs, p99 277µs, 570k/s.
//
//	workload                              mode    p50    p99    deliveries/s  CPU    wasted/broadcast
//	sparse: 4 nodes, 10k topics, 1 node   topics  1.17x  1.26x  0.73x         1.38x  0
//	  serves each topic                   bus     1.11x  1.39x  0.69x         1.53x  2
//	sparse16: the same with 16 nodes      topics  1.06x  1.11x  0.66x         1.48x  0
//	                                      bus     1.86x  2.63x  0.40x         2.80x  14
//	dense: 16 nodes, 10 topics, every     topics  1.05x  0.98x  0.78x         1.42x  0
//	  node serves every topic             bus     1.11x  1.10x  0.83x         1.34x  0
//
// Run-to-run spread of throughput was 7–22%, and latencies moved by up to
// 2x between sessions on this shared VM, so only larger differences mean
// anything. In the dense case the modes cost the same: every node wants
// every message. In the sparse cases Bus makes each other node receive and
// decode every broadcast of the cluster for nothing (N−2 wasted deliveries
// per broadcast with N nodes), which with 16 nodes doubles the CPU per
// broadcast, raises p99 latency 2.4-fold and cuts throughput by 40%
// against Topics; Topics carries each broadcast only to the nodes serving
// its topic. Topics pays at joins instead: a topic's first subscriber on a
// node costs one SUBSCRIBE round trip to Redis (BenchmarkSubscribe: about
// 75µs for a subscribe/unsubscribe pair on loopback; the endpoint makes it
// after the join, so broadcasts from other nodes reach a new topic's first
// subscriber once it is confirmed), later subscribers of
// that topic on that node nothing. Topics is the default because the
// common Seance workload is many small rooms (a document, a user, a
// LiveState counter) whose traffic should not grow with the number
// of nodes. Bus suits a few nodes with few busy topics, or very high join
// churn on topics with one subscriber per node.
//
// # Losses, reconnection, counters
//
// Redis pub/sub delivers at most once and keeps nothing for a subscriber
// that is not connected. When Redis goes away, Publish fails (the error is
// returned to the endpoint's publishing goroutine — Endpoint.Broadcast has
// delivered locally and returned already — and counted in
// [Stats].PublishErrors), and the receive loop
// logs the outage and retries with backoff; once back it resubscribes every
// channel this node wants, logs how long the outage lasted and how many
// publishes failed meanwhile, and carries broadcasts again. Subscriptions
// made during the outage are applied on reconnection (Subscribe returns an
// error meanwhile, and the endpoint retries it until Redis confirms). When
// Redis hangs (the process stopped, connections open) every Publish and
// Subscribe waits for its timeout, but only the endpoint's own goroutines
// wait: joins, heartbeats and local delivery go on. A connection that
// silently stops answering (a network partition) is pinged after
// HealthCheckInterval of silence and replaced when the ping goes
// unanswered. Every message carries its sender's sequence number on its
// Redis channel, so receivers count the messages they missed
// ([Stats].Lost) and log them.
//
// # Encoding and upgrades
//
// Messages start with an encoding version byte (currently 1), then the
// sender's node name and sequence number, the addressed node, topic, event,
// a binary flag and the payload bytes as the endpoint produced them. A node
// drops (and counts in [Stats].UnknownVersion, and logs) messages of a
// version it does not know, so that during a rolling upgrade that changes
// the encoding old and new nodes do not misread each other. All nodes of a
// cluster must use the same Mode and Namespace; give each a unique Node
// name (the default is hostname-pid-random).
//
// # Long-poll needs sticky sessions
//
// A long-poll session lives on the node that created it, and this version
// does not route long-poll requests between nodes: configure the load
// balancer to keep each long-poll client on one node (cookie or client-IP
// affinity), or serve WebSocket only. WebSocket connections need no
// affinity.
//
// # Broadcast history
//
// [NewHistory] is a history.Store in Redis Streams: with it as
// history.Options.Store (and the registry's endpoint as Options.Endpoint),
// a client cut off from one node recovers what it missed on any other.
//
// # Redis Cluster and Sentinel
//
// Options.Client accepts any go-redis UniversalClient. With Redis Cluster,
// classic PUBLISH is propagated to every shard, which limits how far pub/sub
// traffic scales with the cluster; sharded pub/sub (SPUBLISH) is not used.
package redis
