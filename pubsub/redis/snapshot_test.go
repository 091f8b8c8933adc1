package redis_test

import (
	"testing"

	goredis "github.com/redis/go-redis/v9"

	seancecluster "github.com/seance-go/seance/cluster"
	"github.com/seance-go/seance/pubsub/internal/adaptertest"
	"github.com/seance-go/seance/pubsub/redis"
	"github.com/seance-go/seance/pubsub/redis/internal/redistest"
)

// TestSnapshotStore runs the SnapshotStore conformance suite against a
// real redis-server (one per subtest).
func TestSnapshotStore(t *testing.T) {
	adaptertest.RunSnapshotStoreConformance(t, func(t *testing.T) seancecluster.SnapshotStore {
		srv := redistest.Start(t)
		c := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
		t.Cleanup(func() { c.Close() })
		s, err := redis.NewSnapshotStore(redis.SnapshotOptions{Client: c})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
	if _, err := redis.NewSnapshotStore(redis.SnapshotOptions{}); err == nil {
		t.Error("NewSnapshotStore without a Client succeeded")
	}
}
