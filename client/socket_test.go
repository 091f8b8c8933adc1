package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/websocket"

	"github.com/seance-go/seance/client"
	"github.com/seance-go/seance/client/internal/phxtest"
)

func TestJoinOK(t *testing.T) {
	srv := phxtest.NewServer(t, nil)
	s := dial(t, srv, nil)
	c := srv.Accept(t)
	if c.Query.Get("vsn") != "2.0.0" {
		t.Errorf("vsn = %q", c.Query.Get("vsn"))
	}

	ch := s.Channel("room:42", map[string]any{"nick": "ann"})
	res := goJoin(t, ch)
	f := c.Expect(t, "phx_join")
	if f.JoinRef == "" || f.JoinRef != f.Ref || f.Topic != "room:42" || string(f.Payload) != `{"nick":"ann"}` {
		t.Errorf("join frame = %s", f.Raw)
	}
	c.Reply(f, "ok", map[string]any{"welcome": true})
	r := recv(t, res)
	if r.err != nil || string(r.resp) != `{"welcome":true}` {
		t.Fatalf("Join = %s, %v", r.resp, r.err)
	}
	if ch.Err() != nil {
		t.Errorf("Err() = %v on a joined channel", ch.Err())
	}
}

func TestJoinError(t *testing.T) {
	srv := phxtest.NewServer(t, nil)
	s := dial(t, srv, nil)
	c := srv.Accept(t)

	res := make(chan error, 1)
	var ch *client.Channel
	go func() {
		var err error
		ch, _, err = s.Join(testCtx(t), "room:secret", nil)
		res <- err
	}()
	f := c.Expect(t, "phx_join")
	if string(f.Payload) != "{}" {
		t.Errorf("join without params sent %s, want {}", f.Payload)
	}
	c.Reply(f, "error", map[string]any{"reason": "unauthorized"})
	err := recv(t, res)
	var je *client.JoinError
	if !errors.As(err, &je) {
		t.Fatalf("Join error = %v, want *JoinError", err)
	}
	if je.Reason() != "unauthorized" || je.Topic != "room:secret" || je.Status != "error" {
		t.Errorf("JoinError = %+v", je)
	}
	if ch != nil {
		t.Error("Socket.Join returned a channel with an error")
	}
}

func TestJoinTimeoutSendsLeave(t *testing.T) {
	srv := phxtest.NewServer(t, nil)
	s := dial(t, srv, &client.Options{Timeout: 50 * time.Millisecond})
	c := srv.Accept(t)

	ch := s.Channel("slow", nil)
	res := goJoin(t, ch)
	j := c.Expect(t, "phx_join")
	if r := recv(t, res); !errors.Is(r.err, client.ErrTimeout) {
		t.Fatalf("Join = %v, want ErrTimeout", r.err)
	}
	l := c.Expect(t, "phx_leave")
	if l.JoinRef != j.JoinRef || l.Ref == j.Ref {
		t.Errorf("leave %s after join %s: want the timed-out join_ref and a new ref", l.Raw, j.Raw)
	}
	<-ch.Done()
	if !errors.Is(ch.Err(), client.ErrTimeout) {
		t.Errorf("Err() = %v", ch.Err())
	}
}

// A background join that times out is followed by leave and a rejoin with
// a new ref, like phoenix.js ("retries with backoff after timeout").
func TestJoinAsyncTimeoutRejoins(t *testing.T) {
	srv := phxtest.NewServer(t, nil)
	s := dial(t, srv, &client.Options{Timeout: 50 * time.Millisecond})
	c := srv.Accept(t)

	ch := s.Channel("slow", nil)
	if err := ch.JoinAsync(); err != nil {
		t.Fatal(err)
	}
	j1 := c.Expect(t, "phx_join")
	l1 := c.Expect(t, "phx_leave")
	j2 := c.Expect(t, "phx_join")
	if l1.JoinRef != j1.JoinRef || j2.JoinRef == j1.JoinRef {
		t.Fatalf("sequence %s / %s / %s", j1.Raw, l1.Raw, j2.Raw)
	}
	c.Reply(j2, "ok", nil)
	p := goPush(t, ch, "ping", nil)
	f := c.Expect(t, "ping")
	if f.JoinRef != j2.JoinRef {
		t.Errorf("push join_ref %q, want %q", f.JoinRef, j2.JoinRef)
	}
	c.Reply(f, "ok", nil)
	if r := recv(t, p); r.err != nil {
		t.Fatal(r.err)
	}
}

func TestPushReply(t *testing.T) {
	srv := phxtest.NewServer(t, nil)
	s := dial(t, srv, nil)
	c := srv.Accept(t)
	ch, j := join(t, s, c, "room:1")

	p := goPush(t, ch, "new_msg", map[string]string{"body": "hi"})
	f := c.Expect(t, "new_msg")
	if f.JoinRef != j.JoinRef || f.Ref == "" || f.Ref == j.Ref || string(f.Payload) != `{"body":"hi"}` {
		t.Errorf("push frame %s", f.Raw)
	}
	c.Reply(f, "ok", map[string]int{"id": 7})
	r := recv(t, p)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if diff := cmp.Diff(&client.Reply{Status: "ok", Response: []byte(`{"id":7}`)}, r.reply); diff != "" {
		t.Errorf("reply (-want +got):\n%s", diff)
	}

	p = goPush(t, ch, "bad", json.RawMessage(`[1,2]`))
	f = c.Expect(t, "bad")
	if string(f.Payload) != "[1,2]" {
		t.Errorf("raw payload sent as %s", f.Payload)
	}
	c.Reply(f, "error", map[string]string{"reason": "nope"})
	r = recv(t, p)
	var re *client.ReplyError
	if r.err != nil || !errors.As(r.reply.Err(), &re) || re.Status != "error" {
		t.Errorf("error reply = %+v, %v", r.reply, r.err)
	}

	// Refs are decimal and increase across the socket.
	a, _ := strconv.Atoi(j.Ref)
	b, _ := strconv.Atoi(f.Ref)
	if a <= 0 || b <= a {
		t.Errorf("refs %q then %q", j.Ref, f.Ref)
	}
}

func TestPushTimeoutAndCancel(t *testing.T) {
	srv := phxtest.NewServer(t, nil)
	s := dial(t, srv, &client.Options{Timeout: 50 * time.Millisecond})
	c := srv.Accept(t)
	ch, _ := join(t, s, c, "room:1")

	if _, err := ch.Push(testCtx(t), "ignored", nil); !errors.Is(err, client.ErrTimeout) {
		t.Errorf("Push = %v, want ErrTimeout", err)
	}
	f := c.Expect(t, "ignored")
	c.Reply(f, "ok", nil) // late: must be dropped quietly

	ctx, cancel := context.WithCancel(testCtx(t))
	cancel()
	if _, err := ch.Push(ctx, "x", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Push with canceled ctx = %v", err)
	}
}

func TestPushBufferedUntilJoined(t *testing.T) {
	srv := phxtest.NewServer(t, nil)
	s := dial(t, srv, nil)
	c := srv.Accept(t)

	ch := s.Channel("room:1", nil)
	if _, err := ch.Push(testCtx(t), "early", nil); err == nil {
		t.Error("Push before Join: no error")
	}
	if err := ch.JoinAsync(); err != nil {
		t.Fatal(err)
	}
	p := goPush(t, ch, "early", map[string]int{"n": 1})
	j := c.Expect(t, "phx_join") // the push must not overtake the join
	c.Reply(j, "ok", nil)
	f := c.Expect(t, "early")
	if f.JoinRef != j.JoinRef {
		t.Errorf("buffered push join_ref %q, want %q", f.JoinRef, j.JoinRef)
	}
	c.Reply(f, "ok", nil)
	if r := recv(t, p); r.err != nil {
		t.Fatal(r.err)
	}
	if err := ch.JoinAsync(); err == nil {
		t.Error("second join of one Channel: no error")
	}
}

func TestServerPushAndBroadcast(t *testing.T) {
	srv := phxtest.NewServer(t, nil)
	s := dial(t, srv, nil)
	c := srv.Accept(t)

	ch := s.Channel("room:1", nil)
	msgs := make(chan client.Message, 10)
	stop := ch.Notify(msgs, "new_msg")
	defer stop()
	var others atomic.Int32
	off := ch.On("other", func(client.Message) { others.Add(1) })
	res := goJoin(t, ch)
	j := c.Expect(t, "phx_join")
	c.Reply(j, "ok", nil)
	recv(t, res)

	c.Push("999", "room:1", "new_msg", map[string]string{"body": "stale"}) // old join_ref: dropped
	c.Push(j.JoinRef, "room:1", "new_msg", map[string]string{"body": "push"})
	c.Broadcast("room:1", "new_msg", map[string]string{"body": "broadcast"})
	c.Broadcast("room:2", "new_msg", map[string]string{"body": "other topic"})
	off()
	c.Broadcast("room:1", "other", nil)
	c.Broadcast("room:1", "new_msg", map[string]string{"body": "last"})

	var got []string
	for range 3 {
		m := recv(t, msgs)
		var p struct{ Body string }
		if err := m.Decode(&p); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s/%s/%s", m.JoinRef, m.Event, p.Body))
	}
	want := []string{j.JoinRef + "/new_msg/push", "/new_msg/broadcast", "/new_msg/last"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if n := others.Load(); n != 0 {
		t.Errorf("handler ran %d times after off()", n)
	}
}

func TestBinaryFrames(t *testing.T) {
	srv := phxtest.NewServer(t, nil)
	s := dial(t, srv, nil)
	c := srv.Accept(t)
	ch := s.Channel("bin:1", nil)
	msgs := make(chan client.Message, 10)
	defer ch.Notify(msgs)()
	res := goJoin(t, ch)
	j := c.Expect(t, "phx_join")
	c.Reply(j, "ok", nil)
	recv(t, res)

	p := goPush(t, ch, "upload", client.Binary{0, 1, 2, 255})
	f := c.Expect(t, "upload")
	if !f.IsBin || f.JoinRef != j.JoinRef || f.Topic != "bin:1" || !cmp.Equal(f.Binary, []byte{0, 1, 2, 255}) {
		t.Errorf("binary push arrived as %+v", f)
	}
	c.BinaryReply(f, "ok", []byte{9, 8})
	r := recv(t, p)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if diff := cmp.Diff(&client.Reply{Status: "ok", Response: []byte{9, 8}, Binary: true}, r.reply); diff != "" {
		t.Errorf("binary reply (-want +got):\n%s", diff)
	}

	c.BinaryPush(j.JoinRef, "bin:1", "chunk", []byte{1})
	c.BinaryBroadcast("bin:1", "all", []byte{2, 3})
	m1, m2 := recv(t, msgs), recv(t, msgs)
	want := []client.Message{
		{Topic: "bin:1", Event: "chunk", JoinRef: j.JoinRef, Payload: []byte{1}, Binary: true},
		{Topic: "bin:1", Event: "all", Payload: []byte{2, 3}, Binary: true},
	}
	if diff := cmp.Diff(want, []client.Message{m1, m2}); diff != "" {
		t.Errorf("binary messages (-want +got):\n%s", diff)
	}
	if err := m1.Decode(new(any)); err == nil {
		t.Error("Decode of a binary payload: no error")
	}
}

var heartbeatRE = regexp.MustCompile(`^\[null,"[0-9]+","phoenix","heartbeat",\{\}\]$`)

func TestHeartbeatAndMissedHeartbeat(t *testing.T) {
	srv := phxtest.NewServer(t, nil)
	s := dial(t, srv, &client.Options{HeartbeatInterval: 20 * time.Millisecond})
	c := srv.Accept(t)

	hb := c.Expect(t, "heartbeat")
	if !heartbeatRE.MatchString(hb.Raw) {
		t.Errorf("heartbeat frame %s", hb.Raw)
	}
	c.Reply(hb, "ok", nil)
	hb2 := c.Expect(t, "heartbeat")
	if hb2.Ref == hb.Ref {
		t.Error("heartbeat ref reused")
	}
	// No reply: the next tick must drop the connection and reconnect.
	recv(t, c.Gone())
	c2 := srv.Accept(t)
	hb3 := c2.Expect(t, "heartbeat")
	c2.Reply(hb3, "ok", nil)
	if !s.Connected() {
		t.Error("not connected after reconnect")
	}
}

func TestReconnectAndRejoin(t *testing.T) {
	srv := phxtest.NewServer(t, nil)
	var n atomic.Int32
	s := dial(t, srv, &client.Options{
		ParamsFunc: func() map[string]any { return map[string]any{"attempt": n.Add(1)} },
	})
	c := srv.Accept(t)
	if c.Query.Get("attempt") != "1" {
		t.Errorf("first connect params %q", c.RawQuery)
	}
	var calls atomic.Int32
	ch := s.Channel("room:1", func() any { return map[string]any{"call": calls.Add(1)} })
	res := goJoin(t, ch)
	j := c.Expect(t, "phx_join")
	c.Reply(j, "ok", nil)
	recv(t, res)

	p := goPush(t, ch, "inflight", nil)
	c.Expect(t, "inflight")
	c.Drop()
	if r := recv(t, p); !errors.Is(r.err, client.ErrDisconnected) {
		t.Errorf("in-flight push = %v, want ErrDisconnected", r.err)
	}

	c2 := srv.Accept(t)
	if c2.Query.Get("attempt") != "2" {
		t.Errorf("params not re-evaluated on reconnect: %q", c2.RawQuery)
	}
	j2 := c2.Expect(t, "phx_join")
	if j2.JoinRef == j.JoinRef || j2.Topic != "room:1" || string(j2.Payload) != `{"call":2}` {
		t.Errorf("rejoin %s after %s", j2.Raw, j.Raw)
	}
	c2.Reply(j2, "ok", nil)
	p = goPush(t, ch, "after", nil)
	f := c2.Expect(t, "after")
	if f.JoinRef != j2.JoinRef {
		t.Errorf("push after rejoin carries join_ref %q, want %q", f.JoinRef, j2.JoinRef)
	}
	c2.Reply(f, "ok", nil)
	if r := recv(t, p); r.err != nil {
		t.Fatal(r.err)
	}

	// A server close frame (1012 restart) also reconnects.
	c2.CloseWith(websocket.CloseServiceRestart, "restart")
	c3 := srv.Accept(t)
	c3.Reply(c3.Expect(t, "phx_join"), "ok", nil)
}

func TestChannelErrorAndClose(t *testing.T) {
	srv := phxtest.NewServer(t, nil)
	s := dial(t, srv, nil)
	c := srv.Accept(t)
	ch, j := join(t, s, c, "room:1")

	c.CrashChannel(j.JoinRef, "room:1")
	j2 := c.Expect(t, "phx_join") // rejoined after phx_error
	if j2.JoinRef == j.JoinRef {
		t.Error("rejoin reused join_ref")
	}
	c.Reply(j2, "ok", nil)

	c.CloseChannel(j.JoinRef, "room:1") // stale: ignored
	c.CloseChannel(j2.JoinRef, "room:1")
	recv(t, ch.Done())
	if !errors.Is(ch.Err(), client.ErrChannelClosed) {
		t.Errorf("Err() = %v", ch.Err())
	}
	if _, err := ch.Push(testCtx(t), "x", nil); !errors.Is(err, client.ErrChannelClosed) {
		t.Errorf("Push on closed channel = %v", err)
	}
}

func TestLeave(t *testing.T) {
	srv := phxtest.NewServer(t, nil)
	s := dial(t, srv, nil)
	c := srv.Accept(t)
	ch, j := join(t, s, c, "room:1")

	res := make(chan error, 1)
	go func() { res <- ch.Leave(testCtx(t)) }()
	l := c.Expect(t, "phx_leave")
	if l.JoinRef != j.JoinRef || l.Topic != "room:1" {
		t.Errorf("leave frame %s", l.Raw)
	}
	c.Reply(l, "ok", nil)
	c.CloseChannel(j.JoinRef, "room:1")
	if err := recv(t, res); err != nil {
		t.Fatal(err)
	}
	recv(t, ch.Done())
	if err := ch.Leave(testCtx(t)); err != nil {
		t.Errorf("second Leave = %v", err)
	}
}

func TestHandshakeRefused(t *testing.T) {
	for _, tr := range []client.Transport{client.WebSocket, client.LongPoll} {
		t.Run(tr.String(), func(t *testing.T) {
			srv := phxtest.NewServer(t, &phxtest.Options{Reject: func(*http.Request) int { return 403 }})
			_, err := client.Dial(testCtx(t), srv.URL, fast(&client.Options{Transport: tr}))
			var he *client.HandshakeError
			if !errors.As(err, &he) || he.StatusCode != 403 {
				t.Fatalf("Dial = %v, want *HandshakeError 403", err)
			}
		})
	}
}

func TestAuthTokenHeadersAndParams(t *testing.T) {
	srv := phxtest.NewServer(t, nil)
	h := http.Header{}
	h.Set("X-Custom", "yes")
	dial(t, srv, &client.Options{
		AuthToken: "s3cret?>",
		Header:    h,
		Params:    map[string]any{"token": "abc", "user": map[string]any{"id": 7}},
		ClientID:  "tab-1",
	})
	c := srv.Accept(t)
	// base64 std of "s3cret?>" is "czNjcmV0Pz4=": padding stripped.
	if got := c.Header.Get("Sec-Websocket-Protocol"); got != "phoenix, base64url.bearer.phx.czNjcmV0Pz4" {
		t.Errorf("subprotocols %q", got)
	}
	if c.Header.Get("X-Custom") != "yes" {
		t.Error("custom header missing")
	}
	if c.RawQuery != "client_id=tab-1&token=abc&user%5Bid%5D=7&vsn=2.0.0" {
		t.Errorf("query %q", c.RawQuery)
	}
}

func TestProtocolV1(t *testing.T) {
	srv := phxtest.NewServer(t, nil)
	s := dial(t, srv, &client.Options{Vsn: "1.0.0"})
	c := srv.Accept(t)
	ch := s.Channel("room:1", map[string]int{"a": 1})
	res := goJoin(t, ch)
	j := c.Expect(t, "phx_join")
	if want := `{"topic":"room:1","event":"phx_join","payload":{"a":1},"ref":"1","join_ref":"1"}`; j.Raw != want {
		t.Errorf("v1 join %s, want %s", j.Raw, want)
	}
	c.Reply(j, "ok", map[string]int{"v": 1})
	if r := recv(t, res); r.err != nil || string(r.resp) != `{"v":1}` {
		t.Fatalf("v1 Join = %s, %v", r.resp, r.err)
	}
	if _, err := ch.Push(testCtx(t), "b", client.Binary{1}); err == nil {
		t.Error("binary push on v1: no error")
	}
}

func TestCloseFailsEverything(t *testing.T) {
	srv := phxtest.NewServer(t, nil)
	s, err := client.Dial(testCtx(t), srv.URL, fast(nil))
	if err != nil {
		t.Fatal(err)
	}
	c := srv.Accept(t)
	ch, _ := join(t, s, c, "room:1")
	p := goPush(t, ch, "never", nil)
	c.Expect(t, "never")
	pending := s.Channel("room:2", nil)
	res := goJoin(t, pending)
	c.Expect(t, "phx_join")

	s.Close()
	if r := recv(t, p); !errors.Is(r.err, client.ErrClosed) {
		t.Errorf("pending push = %v", r.err)
	}
	if r := recv(t, res); !errors.Is(r.err, client.ErrClosed) {
		t.Errorf("pending join = %v", r.err)
	}
	recv(t, ch.Done())
	if !errors.Is(ch.Err(), client.ErrClosed) {
		t.Errorf("channel Err = %v", ch.Err())
	}
	if _, err := ch.Push(testCtx(t), "x", nil); !errors.Is(err, client.ErrClosed) {
		t.Errorf("Push after Close = %v", err)
	}
	if _, _, err := s.Join(testCtx(t), "room:3", nil); !errors.Is(err, client.ErrClosed) {
		t.Errorf("Join after Close = %v", err)
	}
	if err := s.Connect(); !errors.Is(err, client.ErrClosed) {
		t.Errorf("Connect after Close = %v", err)
	}
	recv(t, c.Gone())
	s.Close() // idempotent
}

func TestJoinCanceledSendsLeave(t *testing.T) {
	srv := phxtest.NewServer(t, nil)
	s := dial(t, srv, nil)
	c := srv.Accept(t)

	ctx, cancel := context.WithCancel(testCtx(t))
	ch := s.Channel("room:1", nil)
	res := make(chan error, 1)
	go func() {
		_, err := ch.Join(ctx)
		res <- err
	}()
	j := c.Expect(t, "phx_join")
	cancel()
	if err := recv(t, res); !errors.Is(err, context.Canceled) {
		t.Fatalf("Join = %v", err)
	}
	l := c.Expect(t, "phx_leave")
	if l.JoinRef != j.JoinRef {
		t.Errorf("leave %s for join %s", l.Raw, j.Raw)
	}
	c.Reply(j, "ok", nil) // too late: ignored
	c.Reply(l, "ok", nil)
	recv(t, ch.Done())
}

// Joining a topic that another Channel holds leaves the old one first, like
// phoenix.js leaveOpenTopic.
func TestDuplicateTopicLeavesOldChannel(t *testing.T) {
	srv := phxtest.NewServer(t, nil)
	s := dial(t, srv, nil)
	c := srv.Accept(t)
	old, j1 := join(t, s, c, "room:1")

	ch := s.Channel("room:1", nil)
	res := goJoin(t, ch)
	l := c.Expect(t, "phx_leave")
	j2 := c.Expect(t, "phx_join")
	if l.JoinRef != j1.JoinRef || j2.JoinRef == j1.JoinRef {
		t.Errorf("leave %s, join %s", l.Raw, j2.Raw)
	}
	c.Reply(l, "ok", nil)
	c.Reply(j2, "ok", nil)
	if r := recv(t, res); r.err != nil {
		t.Fatal(r.err)
	}
	recv(t, old.Done())
}

type closingHandler struct {
	client.BaseHandler
	done chan error
}

func (h *closingHandler) Connected(s *client.Socket) {
	s.Close() // must not deadlock on the callback goroutine
	h.done <- s.Connect()
}

func TestCloseFromCallback(t *testing.T) {
	srv := phxtest.NewServer(t, nil)
	h := &closingHandler{done: make(chan error, 1)}
	s, err := client.NewSocket(srv.URL, fast(&client.Options{Handler: h}))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, h.done); !errors.Is(err, client.ErrClosed) {
		t.Errorf("Connect after Close = %v", err)
	}
	s.Close()
}

// TestClientID: a random client_id is sent by default, the same on every
// connection of the Socket; a client_id in Params wins; "-" sends none.
func TestClientID(t *testing.T) {
	srv := phxtest.NewServer(t, nil)
	dial(t, srv, nil) // fast() reconnects at once
	c := srv.Accept(t)
	q, _ := url.ParseQuery(c.RawQuery)
	id := q.Get("client_id")
	if len(id) < 16 {
		t.Fatalf("client_id %q in query %q", id, c.RawQuery)
	}
	c.Drop() // the server drops the connection: the socket reconnects
	c2 := srv.Accept(t)
	if q, _ := url.ParseQuery(c2.RawQuery); q.Get("client_id") != id {
		t.Errorf("reconnect sent client_id %q, want %q", q.Get("client_id"), id)
	}
	dial(t, srv, nil)
	c3 := srv.Accept(t)
	if q, _ := url.ParseQuery(c3.RawQuery); q.Get("client_id") == id {
		t.Error("two sockets share a client_id")
	}

	dial(t, srv, &client.Options{Params: map[string]any{"client_id": "mine"}})
	if q, _ := url.ParseQuery(srv.Accept(t).RawQuery); q.Get("client_id") != "mine" {
		t.Errorf("client_id from Params not kept: %q", q.Get("client_id"))
	}
	dial(t, srv, &client.Options{ClientID: "-"})
	if q, _ := url.ParseQuery(srv.Accept(t).RawQuery); q.Has("client_id") {
		t.Errorf("ClientID \"-\" sent %q", q.Get("client_id"))
	}
}
