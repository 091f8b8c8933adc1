package adaptertest_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seance-go/seance/cluster"
	"github.com/seance-go/seance/internal/memlease"
	"github.com/seance-go/seance/pubsub/internal/adaptertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestMemLeaser runs the Leaser conformance suite against the in-memory
// Leaser that the livestate cluster tests and e2e stand on, so that what
// they prove holds for a Leaser that behaves as the Redis and NATS ones.
func TestMemLeaser(t *testing.T) {
	adaptertest.RunLeaserConformance(t, func(t *testing.T, ttl time.Duration) cluster.Leaser {
		return memlease.New(ttl)
	})
}
