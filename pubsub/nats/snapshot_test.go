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

// TestSnapshotStore runs the SnapshotStore conformance suite against a
// real nats-server with JetStream (one per subtest).
func TestSnapshotStore(t *testing.T) {
	adaptertest.RunSnapshotStoreConformance(t, func(t *testing.T) seancecluster.SnapshotStore {
		srv := natstest.StartJetStream(t)
		nc, err := natsgo.Connect(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := nats.NewSnapshotStore(ctx, nats.SnapshotOptions{Conn: nc})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
	if _, err := nats.NewSnapshotStore(context.Background(), nats.SnapshotOptions{}); err == nil {
		t.Error("NewSnapshotStore without a Conn succeeded")
	}
}
