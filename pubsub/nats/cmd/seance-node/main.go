// Command seance-node is a small Seance server for trying several nodes
// behind one NATS server: the same server as pubsub/redis/cmd/seance-node
// (channels, REST endpoints, graceful batched shutdown), over NATS.
//
//	seance-node -addr 127.0.0.1:4001 -node n1 -nats nats://127.0.0.1:4222 -secret s3cret-of-32-bytes-or-more......
//	seance-node -addr 127.0.0.1:4002 -node n2 -nats nats://127.0.0.1:4222 -secret s3cret-of-32-bytes-or-more......
//
// See the Redis command's documentation for what it serves; GET /stats
// answers the NATS adapter's counters. With -shared-ttl (the server must run
// JetStream) the shared board:* topics are one state across the nodes, on
// leases in a JetStream KV bucket. With -history broker (JetStream too) the
// history of the hist:* topics is in the JetStream stream
// "<namespace>_history", so a client recovers on any node what it missed.
package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/seance-go/seance/pubsub/internal/nodeapp"
	psnats "github.com/seance-go/seance/pubsub/nats"
)

func main() { nodeapp.Main(run) }

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seance-node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f nodeapp.Flags
	f.Register(fs, "subject mapping: topics or bus", "first subject token")
	url := fs.String("nats", "nats://127.0.0.1:4222", "NATS server URL")
	snapshots := fs.Bool("shared-snapshots", false, "with -shared-ttl: store the shared topics' states in a JetStream KV bucket: a new owner starts from the last one instead of Init")
	sharedTTL := fs.Duration("shared-ttl", 0, "with a JetStream server: one state per shared topic (board:*) in the cluster, on leases of this TTL in a JetStream KV bucket (0: each node its own state)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m, err := psnats.ParseMode(f.Mode)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ps, err := psnats.New(psnats.Options{URL: *url, Node: f.Node, Namespace: f.Namespace, Mode: m, Logger: log})
	if err != nil {
		return err
	}
	defer ps.Close()
	cfg := f.Config(ps, func() any { return ps.Stats() }, log, stdout)
	// The JetStream stores (leases, snapshots, history) share one
	// connection, made when the first of them is asked for.
	var nc *natsgo.Conn
	defer func() {
		if nc != nil {
			nc.Close()
		}
	}()
	js := func() (*natsgo.Conn, error) {
		if nc == nil {
			var err error
			if nc, err = natsgo.Connect(*url, natsgo.MaxReconnects(-1)); err != nil {
				return nil, err
			}
		}
		return nc, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if *sharedTTL > 0 {
		conn, err := js()
		if err != nil {
			return err
		}
		if cfg.SharedLeaser, err = psnats.NewLeaser(ctx, psnats.LeaserOptions{Conn: conn, Bucket: f.Namespace + "_leases", TTL: *sharedTTL}); err != nil {
			return err
		}
		if *snapshots {
			if cfg.SharedSnapshots, err = psnats.NewSnapshotStore(ctx, psnats.SnapshotOptions{Conn: conn, Bucket: f.Namespace + "_snapshots"}); err != nil {
				return err
			}
		}
	}
	if shared, err := f.HistoryInBroker(); err != nil {
		return err
	} else if shared {
		conn, err := js()
		if err != nil {
			return err
		}
		if cfg.HistoryStore, err = psnats.NewHistory(ctx, psnats.HistoryOptions{Conn: conn, Stream: f.Namespace + "_history", Subject: f.Namespace + ".history"}); err != nil {
			return err
		}
	}
	return nodeapp.Run(cfg)
}
