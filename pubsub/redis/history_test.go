package redis_test

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seance-go/seance/history"
	"github.com/seance-go/seance/internal/historytest"
	"github.com/seance-go/seance/pubsub/redis"
	"github.com/seance-go/seance/pubsub/redis/internal/redistest"
)

// TestHistoryStore runs the history.Store checks against a real
// redis-server; losing a stream deletes its keys.
func TestHistoryStore(t *testing.T) {
	srv := redistest.Start(t)
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	t.Cleanup(func() { c.Close() })
	historytest.Conformance(t, historytest.Config{
		New: func(t *testing.T, maxEntries int, maxAge time.Duration) history.Store {
			h, err := redis.NewHistory(redis.HistoryOptions{Client: c, MaxEntries: maxEntries, MaxAge: maxAge})
			if err != nil {
				t.Fatal(err)
			}
			return h
		},
		Lose: func(t *testing.T, _ history.Store, topic string) {
			base := "seance:hist:{" + topic + "}:"
			if err := c.Del(context.Background(), base+"s", base+"m").Err(); err != nil {
				t.Fatal(err)
			}
		},
	})
}

// TestHistoryNeedsClient: a History without a client is refused.
func TestHistoryNeedsClient(t *testing.T) {
	if _, err := redis.NewHistory(redis.HistoryOptions{}); err == nil {
		t.Fatal("NewHistory without a Client succeeded")
	}
}
