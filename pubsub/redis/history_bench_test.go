package redis_test

import (
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seance-go/seance/history"
	"github.com/seance-go/seance/internal/historytest"
	"github.com/seance-go/seance/pubsub/redis"
	"github.com/seance-go/seance/pubsub/redis/internal/redistest"
)

// BenchmarkHistory measures the recovery of 1,000 missed messages and one
// append, in Redis Streams and, as the baseline of the same run, in
// memory (one node).
func BenchmarkHistory(b *testing.B) {
	srv := redistest.Start(b)
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	b.Cleanup(func() { c.Close() })
	historytest.BenchStores(b, "redis", func(b *testing.B) history.Store {
		h, err := redis.NewHistory(redis.HistoryOptions{Client: c})
		if err != nil {
			b.Fatal(err)
		}
		return h
	})
}
