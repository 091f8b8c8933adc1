// Command seance-node is a small Seance server for trying several nodes
// behind one NATS server: the same server as pubsub/redis/cmd/seance-node
// (channels, REST endpoints, graceful batched shutdown), over NATS.
//
//	seance-node -addr 127.0.0.1:4001 -node n1 -nats nats://127.0.0.1:4222 -secret s3cret-of-32-bytes-or-more......
//	seance-node -addr 127.0.0.1:4002 -node n2 -nats nats://127.0.0.1:4222 -secret s3cret-of-32-bytes-or-more......
//
// See the Redis command's documentation for what it serves; GET /stats
// answers the NATS adapter's counters.
package main

import (
	"flag"
	"io"
	"log/slog"

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
	return nodeapp.Run(f.Config(ps, func() any { return ps.Stats() }, log, stdout))
}
