package redis_test

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
	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/pubsub/internal/wire"
	psredis "github.com/seance-go/seance/pubsub/redis"
	"github.com/seance-go/seance/pubsub/redis/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 15 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// node is one adapter with its receive loop running.
type node struct {
	*psredis.PubSub
	got chan *phx.Envelope
}

func startNode(t *testing.T, addr, name string, mode psredis.Mode) *node {
	t.Helper()
	ps, err := psredis.New(psredis.Options{
		Addr: addr, Node: name, Mode: mode, Logger: quiet,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
	})
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

// waitFor polls cond until it holds or the deadline passes.
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

func (n *node) publish(t *testing.T, topic, event, payload string) {
	t.Helper()
	err := n.Publish(context.Background(), &phx.Envelope{FromNode: n.NodeName(), Topic: topic, Event: event, Payload: []byte(payload)})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

func modes(t *testing.T, f func(t *testing.T, mode psredis.Mode)) {
	for _, m := range []psredis.Mode{psredis.Topics, psredis.Bus} {
		t.Run(m.String(), func(t *testing.T) { f(t, m) })
	}
}

func TestBroadcastBetweenNodes(t *testing.T) {
	srv := redistest.Start(t)
	modes(t, func(t *testing.T, mode psredis.Mode) {
		a := startNode(t, srv.Addr, "a", mode)
		b := startNode(t, srv.Addr, "b", mode)
		ctx := context.Background()
		for _, n := range []*node{a, b} {
			if err := n.Subscribe(ctx, "room:1"); err != nil {
				t.Fatal(err)
			}
		}
		want := &phx.Envelope{FromNode: "a", Topic: "room:1", Event: "msg", Payload: []byte(`{"body":"hi"}`)}
		if err := a.Publish(ctx, want); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, b.next(t)); diff != "" {
			t.Errorf("b received (-want +got):\n%s", diff)
		}
		bin := &phx.Envelope{FromNode: "b", Topic: "room:1", Event: "bin", Payload: []byte{0, 1, 2, 255}, Binary: true}
		if err := b.Publish(ctx, bin); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(bin, a.next(t)); diff != "" {
			t.Errorf("a received (-want +got):\n%s", diff)
		}
		// Own messages are not delivered back: the next message a sees is
		// b's, although a published first.
		a.publish(t, "room:1", "own", `{}`)
		b.publish(t, "room:1", "marker", `{}`)
		if e := a.next(t); e.Event != "marker" {
			t.Errorf("a received %q, want only b's marker", e.Event)
		}
		if e := b.next(t); e.Event != "own" {
			t.Errorf("b received %q, want a's message", e.Event)
		}
		st := a.Stats()
		if st.Published != 2 || st.Received != 2 || st.Lost != 0 || st.PublishErrors != 0 {
			t.Errorf("a stats = %+v", st)
		}
	})
}

func TestTopicsModeCarriesOnlyWantedTopics(t *testing.T) {
	srv := redistest.Start(t)
	a := startNode(t, srv.Addr, "a", psredis.Topics)
	b := startNode(t, srv.Addr, "b", psredis.Topics)
	ctx := context.Background()
	if err := b.Subscribe(ctx, "wanted"); err != nil {
		t.Fatal(err)
	}
	a.publish(t, "unwanted", "x", `1`)
	a.publish(t, "wanted", "y", `2`)
	if e := b.next(t); e.Topic != "wanted" {
		t.Fatalf("b received topic %q first, want only %q", e.Topic, "wanted")
	}
	if err := b.Unsubscribe(ctx, "wanted"); err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer rdb.Close()
	n, err := rdb.PubSubNumSub(ctx, "seance:t:wanted").Result()
	if err != nil {
		t.Fatal(err)
	}
	if n["seance:t:wanted"] != 0 {
		t.Errorf("after Unsubscribe Redis still counts %d subscribers", n["seance:t:wanted"])
	}
}

func TestDirectMessage(t *testing.T) {
	srv := redistest.Start(t)
	modes(t, func(t *testing.T, mode psredis.Mode) {
		a := startNode(t, srv.Addr, "a", mode)
		b := startNode(t, srv.Addr, "b", mode)
		c := startNode(t, srv.Addr, "c", mode)
		ctx := context.Background()
		for _, n := range []*node{b, c} {
			if err := n.Subscribe(ctx, "room"); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.Publish(ctx, &phx.Envelope{FromNode: "a", ToNode: "b", Topic: "room", Event: "direct"}); err != nil {
			t.Fatal(err)
		}
		a.publish(t, "room", "all", `{}`)
		if e := b.next(t); e.Event != "direct" || e.ToNode != "b" {
			t.Errorf("b received %+v, want the direct message", e)
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
	srv := redistest.Start(t)
	modes(t, func(t *testing.T, mode psredis.Mode) {
		b := startNode(t, srv.Addr, "b", mode)
		ctx := context.Background()
		if err := b.Subscribe(ctx, "room"); err != nil {
			t.Fatal(err)
		}
		ch := "seance:t:room"
		if mode == psredis.Bus {
			ch = "seance:bus"
		}
		rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
		defer rdb.Close()
		for _, raw := range []string{"\x02future-format", "\x01", ""} {
			if err := rdb.Publish(ctx, ch, raw).Err(); err != nil {
				t.Fatal(err)
			}
		}
		a := startNode(t, srv.Addr, "a", mode)
		a.publish(t, "room", "valid", `{}`)
		if e := b.next(t); e.Event != "valid" {
			t.Fatalf("b received %q", e.Event)
		}
		st := b.Stats()
		if st.UnknownVersion != 1 || st.Malformed != 2 || st.Received != 1 {
			t.Errorf("stats = %+v, want 1 unknown version, 2 malformed, 1 received", st)
		}
	})
}

// Gaps in a sender's sequence numbers are counted as lost; a late message
// fills its gap; a restarted sender (new epoch) starts a new baseline.
func TestCountsLostMessages(t *testing.T) {
	srv := redistest.Start(t)
	b := startNode(t, srv.Addr, "b", psredis.Topics)
	ctx := context.Background()
	if err := b.Subscribe(ctx, "room"); err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer rdb.Close()
	send := func(epoch, seq uint64) {
		m := wire.Message{Epoch: epoch, Seq: seq, From: "x", Topic: "room", Event: fmt.Sprint(seq)}
		if err := rdb.Publish(ctx, "seance:t:room", wire.Append(nil, &m)).Err(); err != nil {
			t.Fatal(err)
		}
		if e := b.next(t); e.Event != fmt.Sprint(seq) {
			t.Fatalf("received %q, want %d", e.Event, seq)
		}
	}
	steps := []struct {
		epoch, seq, lost uint64
	}{
		{1, 1, 0}, {1, 2, 0}, {1, 6, 3}, {1, 4, 2}, {1, 4, 2}, {2, 1, 2}, {2, 3, 3},
	}
	for _, s := range steps {
		send(s.epoch, s.seq)
		if got := b.Stats().Lost; got != s.lost {
			t.Errorf("after epoch %d seq %d: Lost = %d, want %d", s.epoch, s.seq, got, s.lost)
		}
	}
}

// Subscribe and Unsubscribe for one topic may arrive concurrently and out of
// order (the hub calls them outside its lock); Redis must end up subscribed
// exactly when Subscribe calls outnumber Unsubscribe calls.
func TestConcurrentSubscriptionChanges(t *testing.T) {
	srv := redistest.Start(t)
	b := startNode(t, srv.Addr, "b", psredis.Topics)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer rdb.Close()
	ctx := context.Background()
	numsub := func(topic string) int64 {
		n, err := rdb.PubSubNumSub(ctx, "seance:t:"+topic).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n["seance:t:"+topic]
	}
	for round := range 20 {
		topic := fmt.Sprintf("t%d", round)
		extra := round%2 == 0 // leave one Subscribe unmatched on even rounds
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(2)
			go func() { defer wg.Done(); _ = b.Unsubscribe(ctx, topic) }()
			go func() { defer wg.Done(); _ = b.Subscribe(ctx, topic) }()
		}
		if extra {
			wg.Add(1)
			go func() { defer wg.Done(); _ = b.Subscribe(ctx, topic) }()
		}
		wg.Wait()
		// The last (un)subscription may still be in flight on b's
		// connection when NUMSUB is asked on another one: poll.
		want := int64(0)
		if extra {
			want = 1
		}
		waitFor(t, fmt.Sprintf("%s subscribers = %d", topic, want), func() bool { return numsub(topic) == want })
	}
	if got := b.Stats().Topics; got != 10 {
		t.Errorf("Stats.Topics = %d, want 10", got)
	}
}

func TestSubscribeBeforeRun(t *testing.T) {
	srv := redistest.Start(t)
	ps, err := psredis.New(psredis.Options{Addr: srv.Addr, Node: "b", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := ps.Subscribe(ctx, "early"); err != nil {
		t.Fatalf("Subscribe before Run: %v", err)
	}
	got := make(chan *phx.Envelope, 1)
	done := make(chan error, 1)
	go func() { done <- ps.Run(ctx, func(e *phx.Envelope) { got <- e }) }()
	waitFor(t, "connected", func() bool { return ps.Stats().Connected })
	if err := ps.Run(ctx, func(*phx.Envelope) {}); !errors.Is(err, psredis.ErrRunning) {
		t.Errorf("second Run = %v, want ErrRunning", err)
	}
	a := startNode(t, srv.Addr, "a", psredis.Topics)
	a.publish(t, "early", "e", `{}`)
	select {
	case e := <-got:
		if e.Topic != "early" {
			t.Errorf("got %+v", e)
		}
	case <-time.After(wait):
		t.Fatal("no message for a topic subscribed before Run")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}

// Redis stops and restarts on the same port: publishing fails (returned and
// counted) while it is down, nothing crashes, and both nodes reconnect,
// resubscribe (including a topic subscribed during the outage) and carry
// broadcasts again.
func TestRedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	modes(t, func(t *testing.T, mode psredis.Mode) {
		a := startNode(t, srv.Addr, "a", mode)
		b := startNode(t, srv.Addr, "b", mode)
		ctx := context.Background()
		if err := b.Subscribe(ctx, "before"); err != nil {
			t.Fatal(err)
		}
		a.publish(t, "before", "1", `{}`)
		b.next(t)

		srv.Stop()
		waitFor(t, "disconnect noticed", func() bool { return !a.Stats().Connected && !b.Stats().Connected })
		err := a.Publish(ctx, &phx.Envelope{FromNode: "a", Topic: "before", Event: "lost"})
		if err == nil {
			t.Fatal("Publish while Redis is down succeeded")
		}
		if st := a.Stats(); st.PublishErrors != 1 || st.Disconnects != 1 {
			t.Errorf("a stats during outage = %+v, want 1 publish error, 1 disconnect", st)
		}
		if err := b.Subscribe(ctx, "during"); err == nil && mode == psredis.Topics {
			t.Log("Subscribe during the outage returned nil (connection not yet known dead)")
		}

		srv.Restart()
		waitFor(t, "reconnected", func() bool { return a.Stats().Connected && b.Stats().Connected })
		for _, topic := range []string{"before", "during"} {
			// The resubscription may still be on its way: publish until
			// it is delivered.
			deadline := time.Now().Add(wait)
		retry:
			for {
				a.publish(t, topic, "after", `{}`)
				select {
				case e := <-b.got:
					if e.Topic == topic && e.Event == "after" {
						break retry
					}
				case <-time.After(20 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					t.Fatalf("no broadcast on %q after the restart", topic)
				}
			}
		}
		st := b.Stats()
		if st.Reconnects != 1 || st.Disconnects != 1 {
			t.Errorf("b stats = %+v, want 1 disconnect and 1 reconnect", st)
		}
		// a's failed publish used a sequence number on "before": b sees
		// the gap (plus any retries published before it resubscribed).
		if st.Lost < 1 {
			t.Errorf("b counted %d lost, want at least the failed publish", st.Lost)
		}
	})
}

func TestOptions(t *testing.T) {
	if _, err := psredis.New(psredis.Options{Mode: psredis.Mode(7)}); err == nil {
		t.Error("New accepted an unknown mode")
	}
	p, err := psredis.New(psredis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	q, _ := psredis.New(psredis.Options{})
	defer q.Close()
	if p.NodeName() == "" || p.NodeName() == q.NodeName() {
		t.Errorf("default node names %q and %q, want unique", p.NodeName(), q.NodeName())
	}
	if p.Mode() != psredis.Topics {
		t.Errorf("default mode %v", p.Mode())
	}
	for _, s := range []string{"topics", "bus"} {
		m, err := psredis.ParseMode(s)
		if err != nil || m.String() != s {
			t.Errorf("ParseMode(%q) = %v, %v", s, m, err)
		}
	}
	if _, err := psredis.ParseMode("cluster"); err == nil {
		t.Error("ParseMode accepted an unknown mode")
	}
}

// A connection that silently stops carrying anything (a network partition,
// not a closed socket) is detected by the health check and replaced.
func TestSilentConnectionIsReplaced(t *testing.T) {
	srv := redistest.Start(t)
	proxy := redistest.NewProxy(t, srv.Addr)
	ps, err := psredis.New(psredis.Options{
		Addr: proxy.Addr, Node: "b", Logger: quiet,
		HealthCheckInterval: 100 * time.Millisecond, MinBackoff: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	got := make(chan *phx.Envelope, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ps.Run(ctx, func(e *phx.Envelope) { got <- e }) }()
	defer func() {
		cancel()
		<-done
	}()
	if err := ps.Subscribe(ctx, "room"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "connected", func() bool { return ps.Stats().Connected })

	proxy.Freeze()
	waitFor(t, "silent connection replaced", func() bool {
		st := ps.Stats()
		return st.Disconnects == 1 && st.Reconnects == 1 && st.Connected
	})
	a := startNode(t, srv.Addr, "a", psredis.Topics)
	deadline := time.Now().Add(wait)
	for {
		a.publish(t, "room", "again", `{}`)
		select {
		case e := <-got:
			if e.Event != "again" {
				t.Fatalf("got %+v", e)
			}
			return
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no message after the connection was replaced")
		}
	}
}
