package history_test

import (
	"context"
	"fmt"

	"github.com/seance-go/seance/history"
	"github.com/seance-go/seance/phx"
)

func Example() {
	ep := phx.NewEndpoint(phx.Config{})
	hist := history.New(history.Options{MaxEntries: 100})
	ep.Handle("room:*", hist.Handler(phx.HandlerFuncs{}))

	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		pos, err := hist.Broadcast(ctx, "room:lobby", "msg", map[string]int{"n": i})
		if err != nil {
			panic(err)
		}
		fmt.Println("offset", pos.Offset, "ref parses:", roundTrips(pos))
	}
	// Output:
	// offset 1 ref parses: true
	// offset 2 ref parses: true
	// offset 3 ref parses: true
}

func roundTrips(p history.Position) bool {
	q, ok := history.ParsePosition(p.String())
	return ok && q == p
}

// With several nodes the streams are kept in the broker
// (pubsub/redis.NewHistory or pubsub/nats.NewHistory as Options.Store) and
// the endpoint carries each message to every node. Here one endpoint and a
// MemoryStore stand in for them.
func ExampleOptions_store() {
	store := history.NewMemoryStore(history.MemoryOptions{MaxEntries: 100})
	ep := phx.NewEndpoint(phx.Config{}) // with Config.PubSub on a real cluster
	defer ep.Shutdown(context.Background())
	hist := history.New(history.Options{Store: store, Endpoint: ep})
	ep.Handle("room:*", hist.Handler(phx.HandlerFuncs{}))

	ctx := context.Background()
	first, _ := hist.Broadcast(ctx, "room:lobby", "msg", map[string]int{"n": 1})
	hist.Broadcast(ctx, "room:lobby", "msg", map[string]int{"n": 2})

	rec, err := store.Since(ctx, "room:lobby", first)
	if err != nil {
		panic(err)
	}
	fmt.Println("covered:", rec.Covered, "missed:", len(rec.Entries), "top offset:", rec.Top.Offset)
	// Output: covered: true missed: 1 top offset: 2
}
