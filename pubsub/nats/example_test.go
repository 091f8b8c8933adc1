package nats_test

import (
	"context"
	"fmt"
	"log"

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
