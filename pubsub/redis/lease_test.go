package redis_test

import (
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	seancecluster "github.com/seance-go/seance/cluster"
	"github.com/seance-go/seance/pubsub/internal/adaptertest"
	"github.com/seance-go/seance/pubsub/redis"
	"github.com/seance-go/seance/pubsub/redis/internal/redistest"
)

// TestLeaser runs the Leaser conformance suite against a real redis-server
// (one per subtest).
func TestLeaser(t *testing.T) {
	adaptertest.RunLeaserConformance(t, func(t *testing.T, ttl time.Duration) seancecluster.Leaser {
		srv := redistest.Start(t)
		c := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
		t.Cleanup(func() { c.Close() })
		l, err := redis.NewLeaser(redis.LeaserOptions{Client: c, TTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		return l
	})
}

// TestLeaserNeedsClient: a Leaser without a client is refused.
func TestLeaserNeedsClient(t *testing.T) {
	if _, err := redis.NewLeaser(redis.LeaserOptions{}); err == nil {
		t.Fatal("NewLeaser without a Client succeeded")
	}
}
