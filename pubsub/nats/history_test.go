package nats_test

import (
	"context"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/seance-go/seance/history"
	"github.com/seance-go/seance/internal/historytest"
	"github.com/seance-go/seance/pubsub/nats"
	"github.com/seance-go/seance/pubsub/nats/internal/natstest"
)

// TestHistoryStore runs the history.Store checks against a real
// nats-server with JetStream; losing a stream deletes the JetStream
// stream (one per subtest).
func TestHistoryStore(t *testing.T) {
	srv := natstest.StartJetStream(t)
	nc, err := natsgo.Connect(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	n := 0
	historytest.Conformance(t, historytest.Config{
		New: func(t *testing.T, maxEntries int, maxAge time.Duration) history.Store {
			n++
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			h, err := nats.NewHistory(ctx, nats.HistoryOptions{
				Conn: nc, MaxEntries: maxEntries, MaxAge: maxAge,
				Stream: "HIST" + string(rune('A'+n)), Subject: "hist" + string(rune('a'+n)),
			})
			if err != nil {
				t.Fatal(err)
			}
			return h
		},
		Lose: func(t *testing.T, _ history.Store, topic string) {
			js, err := jetstream.New(nc)
			if err != nil {
				t.Fatal(err)
			}
			if err := js.DeleteStream(context.Background(), "HIST"+string(rune('A'+n))); err != nil {
				t.Fatal(err)
			}
		},
	})
}

// TestHistoryNeedsConn: a History without a connection is refused.
func TestHistoryNeedsConn(t *testing.T) {
	if _, err := nats.NewHistory(context.Background(), nats.HistoryOptions{}); err == nil {
		t.Fatal("NewHistory without a Conn succeeded")
	}
}
