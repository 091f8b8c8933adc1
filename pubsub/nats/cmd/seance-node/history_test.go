package main

import (
	"context"
	"testing"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/seance-go/seance/pubsub/internal/clustertest"
	"github.com/seance-go/seance/pubsub/nats/internal/natstest"
)

// TestHistoryAcrossNodes: two seance-node processes keep the history of
// hist:* in one JetStream stream (-history broker). A Go client and a
// phoenix.js client cut off from one node while 1,000 broadcasts go out
// reconnect to the other and recover all of them in order; a gap beyond
// the trimmed stream, or the stream deleted (a new epoch), is reported as
// not recovered.
func TestHistoryAcrossNodes(t *testing.T) {
	bin := clustertest.Build(t, t.TempDir())
	srv := natstest.StartJetStream(t)
	start := func(name string) *clustertest.Proc {
		return startProc(t, bin, srv, name, "-history", "broker").Proc
	}
	n1, n2 := start("n1"), start("n2")
	t.Run("recovery", func(t *testing.T) { clustertest.HistoryRecovery(t, n1, n2) })
	t.Run("not recovered", func(t *testing.T) {
		nc, err := natsgo.Connect(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		clustertest.HistoryNotRecovered(t, n1, n2, func(string) {
			if err := js.DeleteStream(context.Background(), "seance_history"); err != nil {
				t.Fatal(err)
			}
		})
	})
}
