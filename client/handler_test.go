package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/seance-go/seance/client"
	"github.com/seance-go/seance/client/internal/phxtest"
)

// behaviour is a Handler in the phoenix_gen_socket_client style: it keeps
// plain fields without locks (all calls run on one goroutine), joins from
// Connected, answers an event with a blocking Push, and makes its own
// reconnect and rejoin decisions.
type behaviour struct {
	t      *testing.T
	busy   atomic.Bool
	events chan string

	// Plain state, only touched from callbacks: no lock needed.
	joinedOnce   bool
	closedRejoin int

	stopOnDrop atomic.Bool // set by the test goroutine
}

func (b *behaviour) enter() func() {
	if !b.busy.CompareAndSwap(false, true) {
		b.t.Error("two callbacks ran at the same time")
	}
	return func() { b.busy.Store(false) }
}

func (b *behaviour) Connected(s *client.Socket) {
	defer b.enter()()
	b.events <- "connected"
	if !b.joinedOnce {
		b.joinedOnce = true
		if err := s.Channel("room:1", map[string]string{"from": "handler"}).JoinAsync(); err != nil {
			b.t.Error(err)
		}
	}
}

func (b *behaviour) Disconnected(_ *client.Socket, err error) client.Decision {
	defer b.enter()()
	b.events <- "disconnected"
	return client.Decision{Stop: b.stopOnDrop.Load()}
}

func (b *behaviour) Joined(ch *client.Channel, resp json.RawMessage) {
	defer b.enter()()
	b.events <- fmt.Sprintf("joined %s %s", ch.Topic(), resp)
}

func (b *behaviour) JoinError(ch *client.Channel, err error) client.Decision {
	defer b.enter()()
	b.events <- "join error " + ch.Topic()
	return client.Decision{Stop: true}
}

func (b *behaviour) ChannelClosed(ch *client.Channel, err error) client.Decision {
	defer b.enter()()
	b.closedRejoin++
	b.events <- fmt.Sprintf("closed %s %v", ch.Topic(), errors.Is(err, client.ErrChannelClosed))
	return client.Decision{} // rejoin even after phx_close
}

func (b *behaviour) Reply(ch *client.Channel, ref string, r *client.Reply, err error) {
	defer b.enter()()
	b.events <- fmt.Sprintf("reply %s %s %s %v", ch.Topic(), ref, r.Status, err)
}

func (b *behaviour) Message(ch *client.Channel, m client.Message) {
	defer b.enter()()
	b.events <- fmt.Sprintf("message %s %s %s", ch.Topic(), m.Event, m.Payload)
	if m.Event == "ask" {
		r, err := ch.Push(context.Background(), "answer", map[string]int{"n": 42})
		if err != nil {
			b.t.Error(err)
			return
		}
		b.events <- "answered " + r.Status
	}
}

func TestHandlerStyle(t *testing.T) {
	srv := phxtest.NewServer(t, nil)
	b := &behaviour{t: t, events: make(chan string, 100)}
	s, err := client.NewSocket(srv.URL, fast(&client.Options{Handler: b}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Connect(); err != nil {
		t.Fatal(err)
	}
	c := srv.Accept(t)
	expect := func(want string) {
		t.Helper()
		if got := recv(t, b.events); got != want {
			t.Fatalf("event %q, want %q", got, want)
		}
	}
	expect("connected")
	j := c.Expect(t, "phx_join")
	c.Reply(j, "ok", map[string]int{"hi": 1})
	expect(`joined room:1 {"hi":1}`)

	// A blocking Push from inside a callback.
	c.Push(j.JoinRef, "room:1", "ask", nil)
	expect("message room:1 ask {}")
	a := c.Expect(t, "answer")
	c.Reply(a, "ok", nil)
	expect("answered ok")

	// PushAsync reports to Reply.
	ch := s.Channel("room:2", nil)
	if err := ch.JoinAsync(); err != nil {
		t.Fatal(err)
	}
	j2 := c.Expect(t, "phx_join")
	c.Reply(j2, "ok", nil)
	expect("joined room:2 {}")
	ref, err := ch.PushAsync("async", nil)
	if err != nil {
		t.Fatal(err)
	}
	f := c.Expect(t, "async")
	if f.Ref != ref {
		t.Errorf("PushAsync returned ref %q, frame has %q", ref, f.Ref)
	}
	c.Reply(f, "ok", nil)
	expect(fmt.Sprintf("reply room:2 %s ok <nil>", ref))

	// JoinError decides Stop: the channel is closed with the *JoinError.
	no := s.Channel("room:no", nil)
	if err := no.JoinAsync(); err != nil {
		t.Fatal(err)
	}
	c.Reply(c.Expect(t, "phx_join"), "error", map[string]string{"reason": "no"})
	expect("join error room:no")
	recv(t, no.Done())
	var je *client.JoinError
	if !errors.As(no.Err(), &je) || je.Reason() != "no" {
		t.Errorf("Err() = %v", no.Err())
	}

	// ChannelClosed decides to rejoin even after phx_close.
	c.CloseChannel(j2.JoinRef, "room:2")
	expect("closed room:2 true")
	j3 := c.Expect(t, "phx_join")
	if j3.Topic != "room:2" {
		t.Fatalf("rejoined %s", j3.Raw)
	}
	c.Reply(j3, "ok", nil)
	expect("joined room:2 {}")

	// Disconnected decides Stop: no reconnect until Connect.
	b.stopOnDrop.Store(true)
	c.Drop()
	expect("disconnected")
	if s.Connected() {
		t.Error("still connected")
	}
	if err := s.Connect(); err != nil {
		t.Fatal(err)
	}
	c2 := srv.Accept(t)
	expect("connected")
	joined := map[string]bool{}
	for range 2 {
		f := c2.Expect(t, "phx_join")
		c2.Reply(f, "ok", nil)
		joined[f.Topic] = true
	}
	if !joined["room:1"] || !joined["room:2"] {
		t.Errorf("rejoined %v", joined)
	}
	expect("joined room:1 {}")
	expect("joined room:2 {}")
}
