package nats_test

import (
	"context"
	"log"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
	psnats "github.com/seance-go/seance/pubsub/nats"
)

// Shared LiveState topics kept as one state across the nodes (leases in a
// JetStream KV bucket), whose owner stores its state in another bucket so
// that a node taking over from a dead owner starts from it instead of
// Init. It needs a NATS server with JetStream, so it is compiled but not
// run by go test.
func ExampleNewSnapshotStore() {
	ps, err := psnats.New(psnats.Options{URL: "nats://127.0.0.1:4222", Node: "web-1"})
	if err != nil {
		log.Fatal(err)
	}
	defer ps.Close()
	nc, err := natsgo.Connect("nats://127.0.0.1:4222", natsgo.MaxReconnects(-1))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	leaser, err := psnats.NewLeaser(ctx, psnats.LeaserOptions{Conn: nc})
	if err != nil {
		log.Fatal(err)
	}
	snaps, err := psnats.NewSnapshotStore(ctx, psnats.SnapshotOptions{Conn: nc})
	if err != nil {
		log.Fatal(err)
	}
	reg := livestate.NewRegistry(livestate.Config{Engine: phx.Config{PubSub: ps}, SharedLeaser: leaser, SharedSnapshots: snaps})
	_ = reg // reg.Handle("board:*", livestate.NewShared[Board](…))
}
