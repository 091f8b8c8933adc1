package adaptertest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/pubsub/internal/adapter"
	"github.com/seance-go/seance/pubsub/internal/wire"
)

// Broker is one adapter and a throwaway server of its broker, as
// RunConformance needs them. The adapter's namespace is the default one.
type Broker struct {
	// Server is the broker's server; the suite stops and restarts it.
	Server *Server
	// New returns an adapter named node in mode, talking to Server, with
	// its receive loop not started.
	New func(t *testing.T, node string, mode adapter.Mode) Adapter
	// Stats returns the counters of an adapter New returned.
	Stats func(a Adapter) adapter.Stats
	// ErrRunning is what Run returns while another Run is active.
	ErrRunning error
	// RawPublish publishes data unchanged, as another program would, on
	// the broker key that carries topic's broadcasts in mode.
	RawPublish func(t *testing.T, mode adapter.Mode, topic string, data []byte)
	// Subscribers reports how many subscriptions Server has on the key
	// that carries topic's broadcasts in Topics mode.
	Subscribers func(t *testing.T, topic string) int
	// PublishFailsWhileDown tells whether Publish fails while Server is
	// down; otherwise the adapter must buffer it until it reconnects.
	PublishFailsWhileDown bool
}

// RunConformance runs, as subtests of t, the behaviour every adapter must
// have. newBroker is called once per subtest, which gets a fresh server.
func RunConformance(t *testing.T, newBroker func(t *testing.T) *Broker) {
	tests := []struct {
		name string
		run  func(*testing.T, *Broker)
	}{
		{"BroadcastBetweenNodes", testBroadcast},
		{"TopicsModeCarriesOnlyWantedTopics", testOnlyWanted},
		{"DirectMessage", testDirect},
		{"DropsUnknownVersionAndMalformed", testDrops},
		{"CountsLostMessages", testLost},
		{"IdempotentSubscriptionChanges", testIdempotentChanges},
		{"SubscribeBeforeRun", testSubscribeBeforeRun},
		{"ServerRestart", testRestart},
		{"HungServer", testHungServer},
		{"JoinAwaitsSubscription", testJoinAwaitsSubscription},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newBroker(t)) })
	}
}

func modes(t *testing.T, f func(t *testing.T, mode adapter.Mode)) {
	for _, m := range []adapter.Mode{adapter.Topics, adapter.Bus} {
		t.Run(m.String(), func(t *testing.T) { f(t, m) })
	}
}

func subscribe(t *testing.T, topic string, nodes ...*Node) {
	t.Helper()
	for _, n := range nodes {
		if err := n.Subscribe(context.Background(), topic); err != nil {
			t.Fatal(err)
		}
	}
}

func publish(t *testing.T, n *Node, e *phx.Envelope) {
	t.Helper()
	if err := n.Publish(context.Background(), e); err != nil {
		t.Fatal(err)
	}
}

// sameEnvelope fails the test unless got equals want in every field.
func sameEnvelope(t *testing.T, who string, want, got *phx.Envelope) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		f := func(e *phx.Envelope) string {
			return fmt.Sprintf("{From:%q To:%q Topic:%q Event:%q Payload:%q Binary:%v}", e.FromNode, e.ToNode, e.Topic, e.Event, e.Payload, e.Binary)
		}
		t.Errorf("%s received %s, want %s", who, f(got), f(want))
	}
}

func testBroadcast(t *testing.T, br *Broker) {
	modes(t, func(t *testing.T, mode adapter.Mode) {
		a, b := br.Start(t, "a", mode), br.Start(t, "b", mode)
		const topic = "room:1 with.dots*>" // any topic, whatever the broker's syntax
		subscribe(t, topic, a, b)
		want := &phx.Envelope{FromNode: "a", Topic: topic, Event: "msg", Payload: []byte(`{"body":"hi"}`)}
		publish(t, a, want)
		sameEnvelope(t, "b", want, b.Next(t))
		bin := &phx.Envelope{FromNode: "b", Topic: topic, Event: "bin", Payload: []byte{0, 1, 2, 255}, Binary: true}
		publish(t, b, bin)
		sameEnvelope(t, "a", bin, a.Next(t))
		// Own messages are not delivered back: the next message a sees is
		// b's, although a published first.
		a.Send(t, topic, "own", `{}`)
		b.Send(t, topic, "marker", `{}`)
		if e := a.Next(t); e.Event != "marker" {
			t.Errorf("a received %q, want only b's marker", e.Event)
		}
		if e := b.Next(t); e.Event != "own" {
			t.Errorf("b received %q, want a's message", e.Event)
		}
		if st := a.Stats(); st.Published != 2 || st.Received != 2 || st.Lost != 0 || st.PublishErrors != 0 {
			t.Errorf("a stats = %+v", st)
		}
	})
}

func testOnlyWanted(t *testing.T, br *Broker) {
	a, b := br.Start(t, "a", adapter.Topics), br.Start(t, "b", adapter.Topics)
	subscribe(t, "wanted", b)
	a.Send(t, "unwanted", "x", `1`)
	a.Send(t, "wanted", "y", `2`)
	if e := b.Next(t); e.Topic != "wanted" {
		t.Fatalf("b received topic %q first, want only %q", e.Topic, "wanted")
	}
	if err := b.Unsubscribe(context.Background(), "wanted"); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, Wait, "no subscriber left after Unsubscribe", func() bool { return br.Subscribers(t, "wanted") == 0 })
}

func testDirect(t *testing.T, br *Broker) {
	modes(t, func(t *testing.T, mode adapter.Mode) {
		a, b, c := br.Start(t, "a", mode), br.Start(t, "b", mode), br.Start(t, "c", mode)
		subscribe(t, "room", b, c)
		publish(t, a, &phx.Envelope{FromNode: "a", ToNode: "b", Topic: "room", Event: "direct"})
		a.Send(t, "room", "all", `{}`)
		if e := b.Next(t); e.Event != "direct" || e.ToNode != "b" {
			t.Errorf("b received %+v, want the direct message first", e)
		}
		if e := b.Next(t); e.Event != "all" {
			t.Errorf("b received %q, want the broadcast", e.Event)
		}
		if e := c.Next(t); e.Event != "all" {
			t.Errorf("c received %q, want only the broadcast", e.Event)
		}
		// A direct message for another node is no loss for c, although in
		// Bus mode it passes c by on the same key.
		publish(t, a, &phx.Envelope{FromNode: "a", ToNode: "b", Topic: "room", Event: "direct2"})
		a.Send(t, "room", "all2", `{}`)
		for _, want := range []string{"direct2", "all2"} {
			if e := b.Next(t); e.Event != want {
				t.Errorf("b received %q, want %q", e.Event, want)
			}
		}
		if e := c.Next(t); e.Event != "all2" {
			t.Errorf("c received %q, want only the broadcast", e.Event)
		}
		if st := c.Stats(); st.Lost != 0 || st.Received != 2 {
			t.Errorf("c stats = %+v, want 2 received, 0 lost", st)
		}
	})
}

func testDrops(t *testing.T, br *Broker) {
	modes(t, func(t *testing.T, mode adapter.Mode) {
		b := br.Start(t, "b", mode)
		subscribe(t, "room", b)
		for _, raw := range []string{"\x02future-format", "\x01", ""} {
			br.RawPublish(t, mode, "room", []byte(raw))
		}
		a := br.Start(t, "a", mode)
		a.Send(t, "room", "valid", `{}`)
		if e := b.Next(t); e.Event != "valid" {
			t.Fatalf("b received %q", e.Event)
		}
		if st := b.Stats(); st.UnknownVersion != 1 || st.Malformed != 2 || st.Received != 1 {
			t.Errorf("stats = %+v, want 1 unknown version, 2 malformed, 1 received", st)
		}
	})
}

// Gaps in a sender's sequence numbers are counted as lost; a late message
// fills its gap; a restarted sender (new epoch) starts a new baseline.
func testLost(t *testing.T, br *Broker) {
	b := br.Start(t, "b", adapter.Topics)
	subscribe(t, "room", b)
	steps := []struct {
		epoch, seq, lost uint64
	}{
		{1, 1, 0}, {1, 2, 0}, {1, 6, 3}, {1, 4, 2}, {1, 4, 2}, {2, 1, 2}, {2, 3, 3},
	}
	for _, s := range steps {
		m := wire.Message{Epoch: s.epoch, Seq: s.seq, From: "x", Topic: "room", Event: fmt.Sprint(s.seq)}
		br.RawPublish(t, adapter.Topics, "room", wire.Append(nil, &m))
		if e := b.Next(t); e.Event != fmt.Sprint(s.seq) {
			t.Fatalf("received %q, want %d", e.Event, s.seq)
		}
		if got := b.Stats().Lost; got != s.lost {
			t.Errorf("after epoch %d seq %d: Lost = %d, want %d", s.epoch, s.seq, got, s.lost)
		}
	}
}

// Subscribe and Unsubscribe are idempotent (the endpoint retries them after
// an error): repeated calls count once, and calls for many topics at once
// leave the broker subscribed exactly to the topics whose last call was
// Subscribe.
func testIdempotentChanges(t *testing.T, br *Broker) {
	b := br.Start(t, "b", adapter.Topics)
	ctx := context.Background()
	var wg sync.WaitGroup
	for round := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			topic := fmt.Sprintf("t%d", round)
			calls := []func(context.Context, string) error{b.Subscribe, b.Subscribe, b.Unsubscribe, b.Subscribe, b.Subscribe}
			if round%2 == 1 {
				calls = append(calls, b.Unsubscribe, b.Unsubscribe)
			}
			for _, call := range calls {
				if err := call(ctx, topic); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	for round := range 20 {
		topic, want := fmt.Sprintf("t%d", round), 1-round%2
		// An unsubscription may still be on its way to the server: poll.
		WaitFor(t, Wait, fmt.Sprintf("%s subscribers = %d", topic, want), func() bool { return br.Subscribers(t, topic) == want })
	}
	if got := b.Stats().Topics; got != 10 {
		t.Errorf("Stats.Topics = %d, want 10", got)
	}
}

func testSubscribeBeforeRun(t *testing.T, br *Broker) {
	ps := br.New(t, "b", adapter.Topics)
	defer ps.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := ps.Subscribe(ctx, "early"); err != nil {
		t.Fatalf("Subscribe before Run: %v", err)
	}
	// Of two concurrent Runs, one receives and the other fails at once.
	got := make(chan *phx.Envelope, 1)
	done := make(chan error, 2)
	for range 2 {
		go func() { done <- ps.Run(ctx, func(e *phx.Envelope) { got <- e }) }()
	}
	select {
	case err := <-done:
		if !errors.Is(err, br.ErrRunning) {
			t.Errorf("second Run = %v, want %v", err, br.ErrRunning)
		}
	case <-time.After(Wait):
		t.Fatal("a second Run did not fail")
	}
	WaitFor(t, Wait, "connected", func() bool { return br.Stats(ps).Connected })
	a := br.Start(t, "a", adapter.Topics)
	a.Send(t, "early", "e", `{}`)
	select {
	case e := <-got:
		if e.Topic != "early" {
			t.Errorf("got %+v", e)
		}
	case <-time.After(Wait):
		t.Fatal("no message for a topic subscribed before Run")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}

// The server stops and restarts on the same port: nothing crashes, a
// publish meanwhile fails (returned and counted) or is buffered, and both
// nodes reconnect, resubscribe (including a topic subscribed during the
// outage) and carry broadcasts again.
func testRestart(t *testing.T, br *Broker) {
	modes(t, func(t *testing.T, mode adapter.Mode) {
		a, b := br.Start(t, "a", mode), br.Start(t, "b", mode)
		subscribe(t, "before", b)
		a.Send(t, "before", "1", `{}`)
		b.Next(t)

		br.Server.Stop()
		WaitFor(t, Wait, "disconnect noticed", func() bool { return !a.Stats().Connected && !b.Stats().Connected })
		err := a.Publish(context.Background(), &phx.Envelope{FromNode: "a", Topic: "before", Event: "lost"})
		switch {
		case br.PublishFailsWhileDown && err == nil:
			t.Fatal("Publish while the server is down succeeded")
		case br.PublishFailsWhileDown:
			if st := a.Stats(); st.PublishErrors != 1 || st.Disconnects != 1 {
				t.Errorf("a stats during outage = %+v, want 1 publish error, 1 disconnect", st)
			}
		case err != nil:
			t.Fatalf("Publish while the server is down: %v, want it buffered", err)
		}
		if err := b.Subscribe(context.Background(), "during"); err != nil {
			t.Logf("Subscribe during the outage: %v", err)
		}

		br.Server.Restart()
		WaitFor(t, Wait, "reconnected", func() bool { return a.Stats().Connected && b.Stats().Connected })
		for _, topic := range []string{"before", "during"} {
			a.SendUntil(t, b, topic, "after")
		}
		st := b.Stats()
		if st.Reconnects != 1 || st.Disconnects != 1 {
			t.Errorf("b stats = %+v, want 1 disconnect and 1 reconnect", st)
		}
		// a's failed publish used a sequence number on "before": b sees
		// the gap (plus any retries published before it resubscribed).
		if br.PublishFailsWhileDown && st.Lost < 1 {
			t.Errorf("b counted %d lost, want at least the failed publish", st.Lost)
		}
	})
}
