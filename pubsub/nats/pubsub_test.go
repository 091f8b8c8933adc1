package nats_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	natsgo "github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/seance-go/seance/phx"
	psnats "github.com/seance-go/seance/pubsub/nats"
	"github.com/seance-go/seance/pubsub/nats/internal/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 15 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type node struct {
	*psnats.PubSub
	got chan *phx.Envelope
}

func startNode(t *testing.T, opts psnats.Options) *node {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	if opts.ReconnectWait == 0 {
		opts.ReconnectWait = 20 * time.Millisecond
	}
	ps, err := psnats.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{PubSub: ps, got: make(chan *phx.Envelope, 1024)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ps.Run(ctx, func(e *phx.Envelope) { n.got <- e }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
		if err := ps.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	waitFor(t, "connected", func() bool { return ps.Stats().Connected })
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (n *node) next(t *testing.T) *phx.Envelope {
	t.Helper()
	select {
	case e := <-n.got:
		return e
	case <-time.After(wait):
		t.Fatalf("%s: no message within %v", n.NodeName(), wait)
		return nil
	}
}

func (n *node) publish(t *testing.T, topic, event string) {
	t.Helper()
	if err := n.Publish(context.Background(), &phx.Envelope{FromNode: n.NodeName(), Topic: topic, Event: event, Payload: []byte(`{}`)}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

func modes(t *testing.T, f func(t *testing.T, mode psnats.Mode)) {
	for _, m := range []psnats.Mode{psnats.Topics, psnats.Bus} {
		t.Run(m.String(), func(t *testing.T) { f(t, m) })
	}
}

func TestBroadcastBetweenNodes(t *testing.T) {
	srv := natstest.Start(t)
	modes(t, func(t *testing.T, mode psnats.Mode) {
		a := startNode(t, psnats.Options{URL: srv.URL, Node: "a", Mode: mode})
		b := startNode(t, psnats.Options{URL: srv.URL, Node: "b", Mode: mode})
		ctx := context.Background()
		for _, n := range []*node{a, b} {
			if err := n.Subscribe(ctx, "room:1 with.dots*>"); err != nil {
				t.Fatal(err)
			}
		}
		want := &phx.Envelope{FromNode: "a", Topic: "room:1 with.dots*>", Event: "msg", Payload: []byte{0, 1, 255}, Binary: true}
		if err := a.Publish(ctx, want); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, b.next(t)); diff != "" {
			t.Errorf("b received (-want +got):\n%s", diff)
		}
		a.publish(t, "room:1 with.dots*>", "own")
		b.publish(t, "room:1 with.dots*>", "marker")
		if e := a.next(t); e.Event != "marker" {
			t.Errorf("a received %q, want only b's marker", e.Event)
		}
		if st := a.Stats(); st.Published != 2 || st.Received != 1 || st.Lost != 0 {
			t.Errorf("a stats = %+v", st)
		}
	})
}

func TestTopicsModeCarriesOnlyWantedTopics(t *testing.T) {
	srv := natstest.Start(t)
	a := startNode(t, psnats.Options{URL: srv.URL, Node: "a"})
	b := startNode(t, psnats.Options{URL: srv.URL, Node: "b"})
	if err := b.Subscribe(context.Background(), "wanted"); err != nil {
		t.Fatal(err)
	}
	a.publish(t, "unwanted", "x")
	a.publish(t, "wanted", "y")
	if e := b.next(t); e.Topic != "wanted" {
		t.Fatalf("b received topic %q first, want only %q", e.Topic, "wanted")
	}
}

func TestDirectMessage(t *testing.T) {
	srv := natstest.Start(t)
	modes(t, func(t *testing.T, mode psnats.Mode) {
		a := startNode(t, psnats.Options{URL: srv.URL, Node: "a", Mode: mode})
		b := startNode(t, psnats.Options{URL: srv.URL, Node: "b", Mode: mode})
		c := startNode(t, psnats.Options{URL: srv.URL, Node: "c", Mode: mode})
		ctx := context.Background()
		for _, n := range []*node{b, c} {
			if err := n.Subscribe(ctx, "room"); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.Publish(ctx, &phx.Envelope{FromNode: "a", ToNode: "b", Topic: "room", Event: "direct"}); err != nil {
			t.Fatal(err)
		}
		a.publish(t, "room", "all")
		if e := b.next(t); e.Event != "direct" {
			t.Errorf("b received %q, want the direct message first", e.Event)
		}
		if e := b.next(t); e.Event != "all" {
			t.Errorf("b received %q, want the broadcast", e.Event)
		}
		if e := c.next(t); e.Event != "all" {
			t.Errorf("c received %q, want only the broadcast", e.Event)
		}
	})
}

func TestDropsUnknownVersionAndMalformed(t *testing.T) {
	srv := natstest.Start(t)
	b := startNode(t, psnats.Options{URL: srv.URL, Node: "b", Mode: psnats.Bus})
	raw, err := natsgo.Connect(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, m := range []string{"\x02future", "\x01", ""} {
		if err := raw.Publish("seance.bus", []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := raw.Flush(); err != nil {
		t.Fatal(err)
	}
	a := startNode(t, psnats.Options{URL: srv.URL, Node: "a", Mode: psnats.Bus})
	a.publish(t, "room", "valid")
	if e := b.next(t); e.Event != "valid" {
		t.Fatalf("b received %q", e.Event)
	}
	if st := b.Stats(); st.UnknownVersion != 1 || st.Malformed != 2 {
		t.Errorf("stats = %+v, want 1 unknown version and 2 malformed", st)
	}
}

// Concurrent, reordered Subscribe/Unsubscribe calls for one topic leave it
// subscribed exactly when Subscribe calls outnumber Unsubscribe calls.
func TestConcurrentSubscriptionChanges(t *testing.T) {
	srv := natstest.Start(t)
	nc, err := natsgo.Connect(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	b := startNode(t, psnats.Options{Conn: nc, Node: "b"})
	ctx := context.Background()
	want := 1 // the node's own subject
	for round := range 20 {
		topic := fmt.Sprintf("t%d", round)
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(2)
			go func() { defer wg.Done(); _ = b.Unsubscribe(ctx, topic) }()
			go func() { defer wg.Done(); _ = b.Subscribe(ctx, topic) }()
		}
		if round%2 == 0 {
			want++
			wg.Add(1)
			go func() { defer wg.Done(); _ = b.Subscribe(ctx, topic) }()
		}
		wg.Wait()
		if got := nc.NumSubscriptions(); got != want {
			t.Fatalf("round %d: %d subscriptions, want %d", round, got, want)
		}
	}
}

// The NATS server stops and restarts on the same port: nothing crashes,
// both nodes reconnect and resubscribe by themselves, broadcasts resume.
func TestServerRestart(t *testing.T) {
	srv := natstest.Start(t)
	modes(t, func(t *testing.T, mode psnats.Mode) {
		a := startNode(t, psnats.Options{URL: srv.URL, Node: "a", Mode: mode})
		b := startNode(t, psnats.Options{URL: srv.URL, Node: "b", Mode: mode})
		ctx := context.Background()
		if err := b.Subscribe(ctx, "room"); err != nil {
			t.Fatal(err)
		}
		a.publish(t, "room", "before")
		b.next(t)

		srv.Stop()
		waitFor(t, "disconnect noticed", func() bool { return !a.Stats().Connected && !b.Stats().Connected })
		a.publish(t, "room", "buffered") // kept by the client until reconnected
		srv.Restart()
		waitFor(t, "reconnected", func() bool { return a.Stats().Connected && b.Stats().Connected })
		deadline := time.Now().Add(wait)
		for {
			a.publish(t, "room", "after")
			select {
			case <-b.got:
			case <-time.After(20 * time.Millisecond):
				if time.Now().After(deadline) {
					t.Fatal("no broadcast after the restart")
				}
				continue
			}
			break
		}
		if st := b.Stats(); st.Disconnects != 1 || st.Reconnects != 1 {
			t.Errorf("b stats = %+v, want 1 disconnect and 1 reconnect", st)
		}
	})
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
