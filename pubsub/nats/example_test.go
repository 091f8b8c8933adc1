package nats_test

import (
	"context"
	"fmt"
	"log"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/seance-go/seance/history"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
	psnats "github.com/seance-go/seance/pubsub/nats"
)

// A server sharing its broadcasts with the other instances through NATS.
// It needs a NATS server, so it is compiled but not run by go test.
func Example() {
	ps, err := psnats.New(psnats.Options{URL: "nats://127.0.0.1:4222", Node: "web-1"})
	if err != nil {
		log.Fatal(err)
	}
	defer ps.Close()
	reg := livestate.NewRegistry(livestate.Config{Engine: phx.Config{PubSub: ps}})
	reg.Handle("room:*", phx.HandlerFuncs{})
	if _, err := reg.Broadcast(context.Background(), "room:lobby", "notice", map[string]string{"text": "hello"}); err != nil {
		log.Print(err) // delivered on this node only
	}
}

// Modes come from configuration as strings.
func ExampleParseMode() {
	for _, s := range []string{"topics", "bus", "ring"} {
		m, err := psnats.ParseMode(s)
		fmt.Println(m, err)
	}
	// Output:
	// topics <nil>
	// bus <nil>
	// topics nats pubsub: unknown mode "ring" (want topics or bus)
}

// History keeps the broadcast history of tracked topics in a JetStream
// stream, so that a client cut off from one node recovers what it missed on
// any other. It needs a NATS server with JetStream, so it is compiled but
// not run by go test.
func ExampleNewHistory() {
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
	store, err := psnats.NewHistory(ctx, psnats.HistoryOptions{Conn: nc, MaxEntries: 1000, MaxAge: 5 * time.Minute})
	if err != nil {
		log.Fatal(err)
	}

	reg := livestate.NewRegistry(livestate.Config{Engine: phx.Config{PubSub: ps}})
	hist := history.New(history.Options{Store: store, Endpoint: reg.Endpoint()})
	reg.Handle("room:*", hist.Handler(phx.HandlerFuncs{}))
	if _, err := hist.Broadcast(ctx, "room:lobby", "msg", map[string]string{"text": "hello"}); err != nil {
		log.Printf("not published: %v", err)
	}
}
