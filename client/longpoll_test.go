package client_test

import (
	"encoding/base64"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/seance-go/seance/client"
	"github.com/seance-go/seance/client/internal/phxtest"
)

func lp(o *client.Options) *client.Options {
	if o == nil {
		o = &client.Options{}
	}
	o.Transport = client.LongPoll
	return o
}

func TestLongPollOpenMessagesAndAuth(t *testing.T) {
	polls := make(chan int, 100)
	srv := phxtest.NewServer(t, &phxtest.Options{OnPoll: func(st int) {
		select {
		case polls <- st:
		default:
		}
	}})
	s := dial(t, srv, lp(&client.Options{AuthToken: "tok en", ClientID: "-", Params: map[string]any{"a": "b"}}))
	c := srv.Accept(t)
	if st := recv(t, polls); st != 410 {
		t.Errorf("first poll answered %d, want 410", st)
	}
	if c.Transport != "longpoll" || c.RawQuery != "a=b&vsn=2.0.0" {
		t.Errorf("opened %s with query %q", c.Transport, c.RawQuery)
	}
	if got := c.Header.Get("X-Phoenix-AuthToken"); got != "tok en" {
		t.Errorf("X-Phoenix-AuthToken = %q", got)
	}
	if c.Header.Get("X-Phoenix-Longpoll-Token") != "" {
		t.Error("first GET carried a session token")
	}

	ch := s.Channel("room:1", nil)
	msgs := make(chan client.Message, 10)
	defer ch.Notify(msgs)()
	res := goJoin(t, ch)
	j := c.Expect(t, "phx_join")
	c.Reply(j, "ok", map[string]int{"n": 1})
	c.Push(j.JoinRef, "room:1", "hello", map[string]int{"x": 1})
	c.Broadcast("room:1", "hello", map[string]int{"x": 2})
	if r := recv(t, res); r.err != nil || string(r.resp) != `{"n":1}` {
		t.Fatalf("Join = %s, %v", r.resp, r.err)
	}
	m1, m2 := recv(t, msgs), recv(t, msgs)
	if string(m1.Payload) != `{"x":1}` || string(m2.Payload) != `{"x":2}` {
		t.Errorf("messages %s, %s", m1.Payload, m2.Payload)
	}

	// Binary pushes travel as base64 lines.
	p := goPush(t, ch, "bin", client.Binary{1, 2, 3})
	f := c.Expect(t, "bin")
	wantLine := base64.StdEncoding.EncodeToString(append([]byte{0, byte(len(j.JoinRef)), byte(len(f.Ref)), 6, 3}, j.JoinRef+f.Ref+"room:1bin\x01\x02\x03"...))
	if !f.IsBin || f.Raw != wantLine {
		t.Errorf("binary line %q, want %q", f.Raw, wantLine)
	}
	c.Reply(f, "ok", nil)
	if r := recv(t, p); r.err != nil {
		t.Fatal(r.err)
	}
}

func TestLongPoll204ThenMessage(t *testing.T) {
	polls := make(chan int, 100)
	srv := phxtest.NewServer(t, &phxtest.Options{
		LongPollWindow: 10 * time.Millisecond,
		OnPoll: func(st int) {
			select {
			case polls <- st:
			default:
			}
		},
	})
	// A 1ms heartbeat interval would put heartbeats before the join; there
	// must be none over long-poll.
	s := dial(t, srv, lp(&client.Options{HeartbeatInterval: time.Millisecond}))
	c := srv.Accept(t)
	for st := recv(t, polls); st != 204; st = recv(t, polls) {
	}
	ch, j := join(t, s, c, "room:1")
	msgs := make(chan client.Message, 1)
	defer ch.Notify(msgs)()
	c.Push(j.JoinRef, "room:1", "late", nil)
	if m := recv(t, msgs); m.Event != "late" {
		t.Errorf("got %q", m.Event)
	}
}

// 150 pushes buffered while joining go out as POSTs of 100 and 50 lines,
// in order, with never more than one POST in flight (longpoll_test.js).
func TestLongPollPostBatching(t *testing.T) {
	var (
		mu       sync.Mutex
		sizes    []int
		inflight atomic.Int32
		overlap  atomic.Bool
	)
	srv := phxtest.NewServer(t, &phxtest.Options{OnPost: func(lines []string) {
		if inflight.Add(1) > 1 {
			overlap.Store(true)
		}
		defer inflight.Add(-1)
		mu.Lock()
		sizes = append(sizes, len(lines))
		mu.Unlock()
	}})
	s := dial(t, srv, lp(nil))
	c := srv.Accept(t)

	ch := s.Channel("room:1", nil)
	if err := ch.JoinAsync(); err != nil {
		t.Fatal(err)
	}
	j := c.Expect(t, "phx_join")
	for i := range 150 {
		if err := ch.Send("msg", map[string]int{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	c.Reply(j, "ok", nil)
	for i := range 150 {
		f := c.Expect(t, "msg")
		if want := fmt.Sprintf(`{"i":%d}`, i); string(f.Payload) != want {
			t.Fatalf("push %d carried %s", i, f.Payload)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]int{1, 100, 50}, sizes); diff != "" {
		t.Errorf("POST sizes (-want +got):\n%s", diff)
	}
	if overlap.Load() {
		t.Error("two POSTs were in flight at once")
	}
}

func TestLongPollSessionGoneReconnects(t *testing.T) {
	srv := phxtest.NewServer(t, nil)
	h := &recordingHandler{events: make(chan string, 100)}
	s := dial(t, srv, lp(&client.Options{Handler: h}))
	c := srv.Accept(t)
	ch, j := join(t, s, c, "room:1")

	c.Drop() // the held GET now gets 410 for a token the client holds
	c2 := srv.Accept(t)
	j2 := c2.Expect(t, "phx_join")
	if j2.JoinRef == j.JoinRef || c2.Header.Get("X-Phoenix-Longpoll-Token") != "" {
		t.Errorf("rejoin %s on a new session", j2.Raw)
	}
	c2.Reply(j2, "ok", nil)
	p := goPush(t, ch, "x", nil)
	c2.Reply(c2.Expect(t, "x"), "ok", nil)
	if r := recv(t, p); r.err != nil {
		t.Fatal(r.err)
	}
	waitFor(t, h.events, "disconnected "+client.ErrSessionGone.Error())
}

// recordingHandler reports Handler calls as strings.
type recordingHandler struct {
	client.BaseHandler
	events chan string
}

func (h *recordingHandler) Disconnected(s *client.Socket, err error) client.Decision {
	h.events <- "disconnected " + err.Error()
	return client.Decision{}
}

func waitFor(t *testing.T, events <-chan string, want string) {
	t.Helper()
	for {
		if got := recv(t, events); got == want {
			return
		}
	}
}
