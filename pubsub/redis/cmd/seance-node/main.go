// Command seance-node is a small Seance server for trying several nodes
// behind one Redis: run two or three on different ports and the clients of
// one topic see each other whichever node they are connected to, over
// WebSocket or long-poll, behind any load balancer (no sticky sessions).
//
//	seance-node -addr 127.0.0.1:4001 -node n1 -redis localhost:6379 -secret s3cret-of-32-bytes-or-more......
//	seance-node -addr 127.0.0.1:4002 -node n2 -redis localhost:6379 -secret s3cret-of-32-bytes-or-more......
//
// It serves:
//
//   - /socket/websocket and /socket/longpoll: Phoenix Channels. "room:*" is a
//     plain channel whose "shout" pushes are broadcast to the topic (reply
//     {"node": …}) and "echo" pushes are answered with {"node", "echo"};
//     "counter:*" is a LiveState channel with state {"count": n}: the client
//     event lvs_evt:inc {"by": n} broadcasts "inc" on the topic, and every
//     counter of the topic, on every node, adds n when it receives it. A
//     connect parameter user=U names the connection "user_socket:U".
//     "board:*" is a shared LiveState counter ({"count": n}, lvs_evt:inc
//     adds 1), one state per topic across the nodes: the node holding the
//     topic's Redis lease owns it (-shared-ttl bounds a takeover).
//   - POST /broadcast?topic=T&event=E with a JSON body (default {}):
//     broadcasts to every node; answers {"node": …, "local": n} where n is
//     how many channels of this node it reached.
//   - "hist:*" is a plain channel like "room:*" whose messages have a history
//     (package history): -history broker keeps it in Redis Streams, so a
//     client recovers on any node what it missed; -history memory (the
//     default) keeps it on each node. POST /history/publish?topic=T&from=F&n=N
//     publishes "msg" {"i": F} … {"i": F+N-1} and answers the last position.
//   - POST /disconnect?id=user_socket:U: closes U's connections on every
//     node; answers {"node": …, "local": n}.
//   - GET /stats: the Redis adapter's counters as JSON; GET /sessions: the
//     node's open connections.
//
// It prints "seance-node: listening on http://HOST:PORT" once it accepts
// connections (-addr with port 0 picks a free port) and shuts down
// gracefully on SIGINT or SIGTERM, closing connections in batches
// (-drain-batch, -drain-interval).
package main

import (
	"flag"
	"io"
	"log/slog"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seance-go/seance/pubsub/internal/nodeapp"
	psredis "github.com/seance-go/seance/pubsub/redis"
)

func main() { nodeapp.Main(run) }

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seance-node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f nodeapp.Flags
	f.Register(fs, "Redis channel mapping: topics or bus", "Redis channel name prefix")
	redisAddr := fs.String("redis", "localhost:6379", "Redis address")
	sharedTTL := fs.Duration("shared-ttl", 3*time.Second, "lease TTL of the shared topics (board:*): a dead owner is replaced within it")
	snapshots := fs.Bool("shared-snapshots", false, "store the shared topics' states in Redis: a new owner starts from the last one instead of Init")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m, err := psredis.ParseMode(f.Mode)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ps, err := psredis.New(psredis.Options{Addr: *redisAddr, Node: f.Node, Namespace: f.Namespace, Mode: m, Logger: log})
	if err != nil {
		return err
	}
	defer ps.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: *redisAddr, ContextTimeoutEnabled: true})
	defer rdb.Close()
	leaser, err := psredis.NewLeaser(psredis.LeaserOptions{Client: rdb, Namespace: f.Namespace, TTL: *sharedTTL})
	if err != nil {
		return err
	}
	cfg := f.Config(ps, func() any { return ps.Stats() }, log, stdout)
	cfg.SharedLeaser = leaser
	if shared, err := f.HistoryInBroker(); err != nil {
		return err
	} else if shared {
		if cfg.HistoryStore, err = psredis.NewHistory(psredis.HistoryOptions{Client: rdb, Namespace: f.Namespace}); err != nil {
			return err
		}
	}
	if *snapshots {
		if cfg.SharedSnapshots, err = psredis.NewSnapshotStore(psredis.SnapshotOptions{Client: rdb, Namespace: f.Namespace}); err != nil {
			return err
		}
	}
	return nodeapp.Run(cfg)
}
