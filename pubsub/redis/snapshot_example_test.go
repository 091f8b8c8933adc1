package redis_test

import (
	"log"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
	psredis "github.com/seance-go/seance/pubsub/redis"
)

// Shared LiveState topics kept as one state across the nodes (a lease per
// topic in Redis), whose owner stores its state in Redis so that a node
// taking over from a dead owner starts from it instead of Init. It needs a
// Redis server, so it is compiled but not run by go test.
func ExampleNewSnapshotStore() {
	ps, err := psredis.New(psredis.Options{Addr: "localhost:6379", Node: "web-1"})
	if err != nil {
		log.Fatal(err)
	}
	defer ps.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()
	leaser, err := psredis.NewLeaser(psredis.LeaserOptions{Client: rdb})
	if err != nil {
		log.Fatal(err)
	}
	snaps, err := psredis.NewSnapshotStore(psredis.SnapshotOptions{Client: rdb})
	if err != nil {
		log.Fatal(err)
	}
	reg := livestate.NewRegistry(livestate.Config{
		Engine:          phx.Config{PubSub: ps},
		SharedLeaser:    leaser,
		SharedSnapshots: snaps,
		SharedSnapshot:  livestate.SnapshotOptions{Every: 50}, // and at most 1 s after a change
	})
	_ = reg // reg.Handle("board:*", livestate.NewShared[Board](…))
}
