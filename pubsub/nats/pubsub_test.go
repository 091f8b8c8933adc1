package nats_test

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/seance-go/seance/pubsub/internal/adapter"
	"github.com/seance-go/seance/pubsub/internal/adaptertest"
	"github.com/seance-go/seance/pubsub/internal/presencetest"
	psnats "github.com/seance-go/seance/pubsub/nats"
	"github.com/seance-go/seance/pubsub/nats/internal/natstest"
)

func TestMain(m *testing.M) {
	presencetest.NodeMain(presenceNode) // a presence node process: runs and exits
	goleak.VerifyTestMain(m)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// topicSubject is the subject that carries topic in Topics mode (see the
// package doc).
func topicSubject(topic string) string {
	return "seance.t._" + base64.RawURLEncoding.EncodeToString([]byte(topic))
}

func newBroker(t *testing.T) *adaptertest.Broker {
	srv := natstest.Start(t)
	return &adaptertest.Broker{
		Server: srv.Server,
		New: func(t *testing.T, node string, mode adapter.Mode) adaptertest.Adapter {
			t.Helper()
			ps, err := psnats.New(psnats.Options{URL: srv.URL, Node: node, Mode: psnats.Mode(mode), Logger: quiet, ReconnectWait: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			return ps
		},
		Stats:      func(a adaptertest.Adapter) adapter.Stats { return adapter.Stats(a.(*psnats.PubSub).Stats()) },
		ErrRunning: psnats.ErrRunning,
		RawPublish: func(t *testing.T, mode adapter.Mode, topic string, data []byte) {
			t.Helper()
			nc, err := natsgo.Connect(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			subj := topicSubject(topic)
			if mode == adapter.Bus {
				subj = "seance.bus"
			}
			if err := nc.Publish(subj, data); err != nil {
				t.Fatal(err)
			}
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
		},
		Subscribers: func(t *testing.T, topic string) int {
			t.Helper()
			n, err := srv.Subscribers(topicSubject(topic))
			if err != nil {
				t.Fatal(err)
			}
			return n
		},
	}
}

func TestConformance(t *testing.T) { adaptertest.RunConformance(t, newBroker) }

// On a connection shared with the application (Options.Conn) the adapter
// adds and removes only its own subscriptions, and Close removes them all.
func TestSharedConn(t *testing.T) {
	srv := natstest.Start(t)
	nc, err := natsgo.Connect(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.SubscribeSync("app.own"); err != nil {
		t.Fatal(err)
	}
	ps, err := psnats.New(psnats.Options{Conn: nc, Node: "b", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	check := func(step string, want int) {
		t.Helper()
		if got := nc.NumSubscriptions(); got != want {
			t.Errorf("after %s: %d subscriptions, want %d", step, got, want)
		}
	}
	check("New", 2) // the application's and the node's own subject
	for _, topic := range []string{"x", "y", "x"} {
		if err := ps.Subscribe(ctx, topic); err != nil {
			t.Fatal(err)
		}
	}
	check("Subscribe x, y, x", 4) // idempotent
	for _, topic := range []string{"x", "x"} {
		if err := ps.Unsubscribe(ctx, topic); err != nil {
			t.Fatal(err)
		}
	}
	check("Unsubscribe x, x", 3)
	if st := ps.Stats(); st.Topics != 1 || !st.Connected {
		t.Errorf("stats = %+v, want 1 topic, connected", st)
	}
	if err := ps.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	check("Close", 1)
	if !nc.IsConnected() {
		t.Error("Close closed the application's connection")
	}
}

func TestOptions(t *testing.T) {
	for _, o := range []psnats.Options{{Mode: psnats.Mode(9)}, {Namespace: "a.b"}, {Namespace: "a b"}} {
		if _, err := psnats.New(o); err == nil {
			t.Errorf("New(%+v) accepted invalid options", o)
		}
	}
	if _, err := psnats.ParseMode("ring"); err == nil {
		t.Error("ParseMode accepted an unknown mode")
	}
}
