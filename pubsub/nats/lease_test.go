package nats_test

import (
	"context"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	seancecluster "github.com/seance-go/seance/cluster"
	"github.com/seance-go/seance/pubsub/internal/adaptertest"
	"github.com/seance-go/seance/pubsub/nats"
	"github.com/seance-go/seance/pubsub/nats/internal/natstest"
)

// TestLeaser runs the Leaser conformance suite against a real nats-server
// with JetStream (one per subtest).
func TestLeaser(t *testing.T) {
	adaptertest.RunLeaserConformance(t, func(t *testing.T, ttl time.Duration) seancecluster.Leaser {
		srv := natstest.StartJetStream(t)
		nc, err := natsgo.Connect(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		l, err := nats.NewLeaser(ctx, nats.LeaserOptions{Conn: nc, TTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		return l
	})
}
