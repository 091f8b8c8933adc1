package redis_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seance-go/seance/history"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
	psredis "github.com/seance-go/seance/pubsub/redis"
)

// A server that shares its broadcasts with the other instances behind the
// load balancer through Redis. It needs a Redis server, so it is compiled
// but not run by go test.
func Example() {
	ps, err := psredis.New(psredis.Options{Addr: "localhost:6379", Node: "web-1"})
	if err != nil {
		log.Fatal(err)
	}
	defer ps.Close()

	reg := livestate.NewRegistry(livestate.Config{Engine: phx.Config{PubSub: ps}})
	reg.Handle("room:*", phx.HandlerFuncs{}) // accepts every join
	mux := http.NewServeMux()
	mux.Handle("/socket/", livestate.Handler(reg))
	// A REST handler broadcasting to the room's clients on every node.
	mux.HandleFunc("POST /rooms/lobby/notify", func(w http.ResponseWriter, r *http.Request) {
		if _, err := reg.Broadcast(context.Background(), "room:lobby", "notice", map[string]string{"text": "hello"}); err != nil {
			// Delivered on this node only; Redis is unreachable.
			http.Error(w, err.Error(), http.StatusBadGateway)
		}
	})
	srv := &http.Server{Addr: ":4000", Handler: mux}
	go func() { _ = srv.ListenAndServe() }()

	// … on SIGTERM:
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = reg.Shutdown(ctx) // stops the Redis receive loop too
	_ = srv.Shutdown(ctx)
	log.Printf("redis pubsub counters: %+v", ps.Stats())
}

// Stats tells what crossed nodes and what was lost while Redis was away.
// New does not connect: before the endpoint runs the receive loop, every
// counter is zero.
func ExamplePubSub_Stats() {
	ps, err := psredis.New(psredis.Options{Node: "web-1", Mode: psredis.Bus})
	if err != nil {
		log.Fatal(err)
	}
	defer ps.Close()
	st := ps.Stats()
	fmt.Printf("node=%s mode=%v connected=%v published=%d publish_errors=%d received=%d lost=%d\n",
		ps.NodeName(), ps.Mode(), st.Connected, st.Published, st.PublishErrors, st.Received, st.Lost)
	// Output: node=web-1 mode=bus connected=false published=0 publish_errors=0 received=0 lost=0
}

// Modes come from configuration as strings.
func ExampleParseMode() {
	for _, s := range []string{"topics", "bus", "ring"} {
		m, err := psredis.ParseMode(s)
		fmt.Println(m, err)
	}
	// Output:
	// topics <nil>
	// bus <nil>
	// topics redis pubsub: unknown mode "ring" (want topics or bus)
}

// History keeps the broadcast history of tracked topics in Redis Streams,
// so that a client cut off from one node recovers what it missed on any
// other. It needs a Redis server, so it is compiled but not run by go test.
func ExampleNewHistory() {
	ps, err := psredis.New(psredis.Options{Addr: "localhost:6379", Node: "web-1"})
	if err != nil {
		log.Fatal(err)
	}
	defer ps.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: "localhost:6379"})
	defer rdb.Close()
	store, err := psredis.NewHistory(psredis.HistoryOptions{Client: rdb, MaxEntries: 1000, MaxAge: 5 * time.Minute})
	if err != nil {
		log.Fatal(err)
	}

	reg := livestate.NewRegistry(livestate.Config{Engine: phx.Config{PubSub: ps}})
	hist := history.New(history.Options{Store: store, Endpoint: reg.Endpoint()})
	reg.Handle("room:*", hist.Handler(phx.HandlerFuncs{}))

	// One Redis round trip for the position, then out to every node.
	pos, err := hist.Broadcast(context.Background(), "room:lobby", "msg", map[string]string{"text": "hello"})
	if err != nil {
		log.Printf("not published: %v", err)
	}
	log.Printf("published at %s", pos)
}
