package nats_test

import (
	"context"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/seance-go/seance/history"
	"github.com/seance-go/seance/internal/historytest"
	"github.com/seance-go/seance/pubsub/nats"
	"github.com/seance-go/seance/pubsub/nats/internal/natstest"
)

// BenchmarkHistory measures the recovery of 1,000 missed messages and one
// append, in a JetStream stream and, as the baseline of the same run, in
// memory (one node).
func BenchmarkHistory(b *testing.B) {
	srv := natstest.StartJetStream(b)
	nc, err := natsgo.Connect(srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	historytest.BenchStores(b, "nats", func(b *testing.B) history.Store {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h, err := nats.NewHistory(ctx, nats.HistoryOptions{Conn: nc})
		if err != nil {
			b.Fatal(err)
		}
		return h
	})
}
