package livestate_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// Stamp encodes itself (a json.Marshaler inside the synced state).
type Stamp struct{ N int }

func (s Stamp) MarshalJSON() ([]byte, error) { return json.Marshal(fmt.Sprintf("rev-%d", s.N)) }

type Todo struct {
	ID    int    `json:"id"`
	Title string `json:"title"`
	Done  bool   `json:"done"`
}

// Todos is the synced state: json tags rename and omit, Stamp marshals
// itself, internal is never encoded.
type Todos struct {
	Todos    []Todo `json:"todos"`
	Filter   string `json:"filter,omitempty"`
	Rev      Stamp  `json:"rev"`
	internal int
}

// todoChannel is the per-join value; its fields are server-only.
type todoChannel struct {
	secret string
	closed chan<- error
}

func (c *todoChannel) Authorize(ctx context.Context, s *livestate.Socket, params phx.Payload) error {
	var p struct{ Deny string }
	params.Decode(&p)
	switch p.Deny {
	case "plain":
		return errors.New("denied")
	case "joinerror":
		return &phx.JoinError{Response: map[string]any{"code": "forbidden", "retry": false}}
	}
	return nil
}

func (c *todoChannel) Init(ctx context.Context, s *livestate.Socket, params phx.Payload) (Todos, error) {
	var p struct {
		Fail      bool
		Todos     int
		Subscribe string
	}
	if err := params.Decode(&p); err != nil {
		return Todos{}, err
	}
	if p.Fail {
		return Todos{}, errors.New("cannot init")
	}
	c.secret = "hunter2"
	st := Todos{Todos: []Todo{}, internal: 7}
	for i := 1; i <= p.Todos; i++ {
		st.Todos = append(st.Todos, Todo{ID: i, Title: fmt.Sprintf("todo %d", i)})
	}
	if p.Subscribe != "" {
		if err := s.Subscribe(p.Subscribe); err != nil {
			return Todos{}, err
		}
	}
	return st, nil
}

type payloadError struct{}

func (payloadError) Error() string     { return "with payload" }
func (payloadError) ErrorPayload() any { return map[string]any{"code": 7, "message": "with payload"} }

func (c *todoChannel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, payload phx.Payload, st *Todos) error {
	var p struct {
		ID    int
		Title string
		Topic string
	}
	if err := payload.Decode(&p); err != nil {
		return err
	}
	switch event {
	case "add":
		st.Todos = append(st.Todos, Todo{ID: len(st.Todos) + 1, Title: p.Title})
	case "toggle":
		for i := range st.Todos {
			if st.Todos[i].ID == p.ID {
				st.Todos[i].Done = !st.Todos[i].Done
			}
		}
	case "emit":
		s.Emit("first", map[string]int{"n": 1})
		s.Emit("second", map[string]int{"n": 2})
		st.Filter = "active"
	case "emit_only":
		s.Emit("hello", map[string]string{"to": "you"})
	case "noop":
	case "internal":
		st.internal++ // not synced: the patch is empty
	case "secret":
		c.secret = p.Title // server-only: the patch is empty
	case "bump":
		st.Rev.N++
	case "replace_all":
		st.Todos = []Todo{{ID: 99, Title: "x"}}
		st.Filter = ""
	case "fail":
		st.Filter = "failed"
		return errors.New("bad thing")
	case "fail_payload":
		return payloadError{}
	case "reply":
		st.Todos = append(st.Todos, Todo{ID: len(st.Todos) + 1, Title: p.Title})
		s.Reply(map[string]any{"id": len(st.Todos)})
		s.Reply("ignored: only the first reply counts")
	case "reply_error":
		s.ReplyError("nope")
	case "reply_error_map":
		s.ReplyError(map[string]int{"code": 3})
	case "panic":
		panic("event exploded")
	case "send":
		return s.Send("sent:" + p.Title)
	case "subscribe":
		s.Reply(map[string]string{"subscribed": p.Topic})
		return s.Subscribe(p.Topic)
	case "broadcast":
		return s.Broadcast(ctx, p.Topic, "from_channel", map[string]string{"title": p.Title})
	case "close":
		return s.Close()
	case "whoami":
		s.Reply(map[string]any{"identity": s.Identity(), "topic": s.Topic(), "transport": s.ConnectInfo().Transport, "secret_len": len(c.secret)})
	default:
		return fmt.Errorf("unknown event %q", event)
	}
	return nil
}

func (c *todoChannel) HandleMessage(ctx context.Context, s *livestate.Socket, msg any, st *Todos) error {
	switch m := msg.(type) {
	case *phx.Broadcast:
		var p struct{ Title string }
		m.Payload.Decode(&p)
		st.Filter = m.Topic + "/" + m.Event + "/" + p.Title
		s.Emit("got_broadcast", map[string]string{"event": m.Event})
	case string:
		st.Filter = m
	default:
		return fmt.Errorf("unexpected message %T", msg)
	}
	return nil
}

func (c *todoChannel) Closed(ctx context.Context, s *livestate.Socket, reason error) {
	if c.closed != nil {
		c.closed <- reason
	}
}

// setup registers the todo channel on "todo:*" (and a plain phx channel on
// "room:*") and opens a client.
func setup(t *testing.T, opts livestate.Options) (*livestate.Registry, *client, chan error) {
	t.Helper()
	reg := newRegistry(t)
	closed := make(chan error, 8)
	reg.Handle("todo:*", livestate.New(func() livestate.Channel[Todos] {
		return &todoChannel{closed: closed}
	}, opts))
	reg.Handle("room:*", phx.HandlerFuncs{})
	return reg, open(t, reg), closed
}

// joinTodos joins topic with params and checks the join reply and the
// initial state:change; it returns the client's mirror of the state.
func joinTodos(t *testing.T, c *client, topic, params string) *mirror {
	t.Helper()
	c.send(`["1","1","` + topic + `","phx_join",` + params + `]`)
	c.expect(`["1","1","` + topic + `","phx_reply",{"status":"ok","response":{}}]`)
	m := &mirror{t: t}
	m.change(c.expectEvent(topic, "state:change"))
	if m.version != 0 {
		t.Fatalf("initial version %d", m.version)
	}
	return m
}

func waitClosed(t *testing.T, closed chan error) error {
	t.Helper()
	select {
	case err := <-closed:
		return err
	case <-time.After(waitTimeout):
		t.Fatal("Closed hook not called")
		return nil
	}
}

func TestInitSendsChange(t *testing.T) {
	_, c, _ := setup(t, livestate.Options{})
	m := joinTodos(t, c, "todo:1", `{"todos":2}`)
	want := decode(t, `{"todos":[{"id":1,"title":"todo 1","done":false},{"id":2,"title":"todo 2","done":false}],"rev":"rev-0"}`)
	if d := cmp.Diff(want, m.state); d != "" {
		t.Errorf("initial state (-want +got)\n%s", d)
	}
	c.expectNothing()
}

func TestInitError(t *testing.T) {
	_, c, _ := setup(t, livestate.Options{})
	c.send(`["1","1","todo:1","phx_join",{"fail":true}]`)
	c.expect(
		`["1","1","todo:1","phx_reply",{"status":"ok","response":{}}]`,
		`["1",null,"todo:1","error",{"message":"cannot init"}]`,
	)
	// the channel stays joined without state
	ref := c.push("todo:1", "lvs_evt:add", `{"title":"x"}`)
	c.expect(`["1","` + ref + `","todo:1","phx_reply",{"status":"error","response":{"reason":"no state"}}]`)
	ref = c.push("todo:1", "lvs_refresh", `{}`)
	c.expect(`["1","` + ref + `","todo:1","phx_reply",{"status":"error","response":{"reason":"no state"}}]`)
	c.expectNothing()
}

func TestAuthorizer(t *testing.T) {
	_, c, _ := setup(t, livestate.Options{})
	c.send(`["1","1","todo:1","phx_join",{"deny":"plain"}]`)
	c.expect(`["1","1","todo:1","phx_reply",{"status":"error","response":{"reason":"denied"}}]`)
	c.send(`["2","2","todo:1","phx_join",{"deny":"joinerror"}]`)
	c.expect(`["2","2","todo:1","phx_reply",{"status":"error","response":{"code":"forbidden","retry":false}}]`)
	c.expectNothing() // no state:change after a refusal
}

// TestEventPatch: emitted events in order, then one state:patch whose
// application to the previous state gives the new state.
func TestEventPatch(t *testing.T) {
	_, c, _ := setup(t, livestate.Options{})
	m := joinTodos(t, c, "todo:1", `{"todos":3}`)

	c.push("todo:1", "lvs_evt:emit", `{}`)
	if p := c.expectEvent("todo:1", "first"); p["n"] != 1.0 {
		t.Errorf("first emit %v", p)
	}
	if p := c.expectEvent("todo:1", "second"); p["n"] != 2.0 {
		t.Errorf("second emit %v", p)
	}
	m.patch(c.expectEvent("todo:1", "state:patch"), "patch")
	if m.version != 1 {
		t.Errorf("version %d, want 1", m.version)
	}

	steps := []struct{ event, payload string }{
		{"toggle", `{"id":2}`},
		{"add", `{"title":"new ~/ one"}`},
		{"bump", `{}`},
		{"toggle", `{"id":2}`},
	}
	for i, st := range steps {
		c.push("todo:1", "lvs_evt:"+st.event, st.payload)
		m.patch(c.expectEvent("todo:1", "state:patch"), "patch")
		if m.version != i+2 {
			t.Errorf("after %s: version %d, want %d", st.event, m.version, i+2)
		}
	}
	want := decode(t, `{"todos":[{"id":1,"title":"todo 1","done":false},{"id":2,"title":"todo 2","done":false},{"id":3,"title":"todo 3","done":false},{"id":4,"title":"new ~/ one","done":false}],"filter":"active","rev":"rev-1"}`)
	if d := cmp.Diff(want, m.state); d != "" {
		t.Errorf("patched state (-want +got)\n%s", d)
	}
	// the server's view agrees
	c.push("todo:1", "lvs_refresh", `{}`)
	p := c.expectEvent("todo:1", "state:change")
	if d := cmp.Diff(m.state, p["state"]); d != "" || p["version"] != float64(m.version) {
		t.Errorf("refresh: version %v, state (-mirror +server)\n%s", p["version"], d)
	}
	c.expectNothing()
}

// TestLargePatch: by default a patch larger than the state is still sent as
// a state:patch (live_state); with CompactWire the whole state is sent.
func TestLargePatch(t *testing.T) {
	for _, tc := range []struct {
		compact bool
		event   string
	}{{false, "state:patch"}, {true, "state:change"}} {
		t.Run(tc.event, func(t *testing.T) {
			_, c, _ := setup(t, livestate.Options{CompactWire: tc.compact})
			m := joinTodos(t, c, "todo:1", `{"todos":20}`)
			c.push("todo:1", "lvs_evt:replace_all", `{}`)
			if ev := c.update(m, "todo:1", lvsNames); ev != tc.event {
				t.Errorf("update sent as %s, want %s", ev, tc.event)
			}
			if m.version != 1 {
				t.Errorf("version %d, want 1", m.version)
			}
			if d := cmp.Diff(decode(t, `{"todos":[{"id":99,"title":"x","done":false}],"rev":"rev-0"}`), m.state); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

// TestNothingChanged: as live_state, a callback that changes nothing still
// sends an empty patch with the next version, after the events it emitted.
func TestNothingChanged(t *testing.T) {
	_, c, _ := setup(t, livestate.Options{})
	m := joinTodos(t, c, "todo:1", `{"todos":1}`)
	for i, ev := range []string{"noop", "internal", "secret"} {
		c.push("todo:1", "lvs_evt:"+ev, `{"title":"s3cr3t"}`)
		if v := c.expectEmptyPatch("todo:1"); v != i+1 {
			t.Errorf("after %s: version %d, want %d", ev, v, i+1)
		}
	}
	c.push("todo:1", "lvs_evt:emit_only", `{}`)
	c.expect(`["1",null,"todo:1","hello",{"to":"you"}]`)
	if v := c.expectEmptyPatch("todo:1"); v != 4 {
		t.Errorf("after emit_only: version %d, want 4", v)
	}
	c.expectNothing()
	c.push("todo:1", "lvs_evt:toggle", `{"id":1}`)
	m.version = 4
	m.patch(c.expectEvent("todo:1", "state:patch"), "patch")
	if m.version != 5 || m.state.(map[string]any)["todos"].([]any)[0].(map[string]any)["done"] != true {
		t.Errorf("version %d state %v", m.version, m.state)
	}
}

// TestNothingChangedCompact: with CompactWire no change and no emits send
// nothing (not even an empty patch); server-only values never produce
// traffic.
func TestNothingChangedCompact(t *testing.T) {
	_, c, _ := setup(t, livestate.Options{CompactWire: true})
	joinTodos(t, c, "todo:1", `{"todos":1}`)
	for _, ev := range []string{"noop", "internal", "secret"} {
		c.push("todo:1", "lvs_evt:"+ev, `{"title":"s3cr3t"}`)
		c.expectNothing()
	}
	// emits alone are sent, without a state update
	c.push("todo:1", "lvs_evt:emit_only", `{}`)
	c.expect(`["1",null,"todo:1","hello",{"to":"you"}]`)
	c.expectNothing()
	// the version did not move
	c.push("todo:1", "lvs_evt:toggle", `{"id":1}`)
	if v := c.expectEvent("todo:1", "state:patch")["version"]; v != 1.0 {
		t.Errorf("version %v after no-op events, want 1", v)
	}
}

func TestServerOnlyValuesNeverSynced(t *testing.T) {
	_, c, _ := setup(t, livestate.Options{})
	m := joinTodos(t, c, "todo:1", `{}`)
	ref := c.push("todo:1", "lvs_evt:whoami", `{}`)
	c.expectEmptyPatch("todo:1")
	c.expect(`["1","` + ref + `","todo:1","phx_reply",{"status":"ok","response":{"identity":"ann","topic":"todo:1","transport":"test","secret_len":7}}]`)
	c.push("todo:1", "lvs_refresh", `{}`)
	p := c.expectEvent("todo:1", "state:change")
	b, _ := json.Marshal(p)
	for _, leak := range []string{"hunter2", "internal", "secret"} {
		if strings.Contains(string(b), leak) {
			t.Errorf("server-only value %q synced: %s", leak, b)
		}
	}
	if d := cmp.Diff(m.state, p["state"]); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}

func TestVersionWrap(t *testing.T) {
	_, c, _ := setup(t, livestate.Options{MaxVersion: 3})
	m := joinTodos(t, c, "todo:1", `{"todos":1}`)
	var versions []int
	for i := 0; i < 5; i++ {
		c.push("todo:1", "lvs_evt:toggle", `{"id":1}`)
		m.patch(c.expectEvent("todo:1", "state:patch"), "patch")
		versions = append(versions, m.version)
	}
	if d := cmp.Diff([]int{1, 2, 3, 0, 1}, versions); d != "" {
		t.Errorf("versions (-want +got)\n%s", d)
	}
	c.push("todo:1", "lvs_refresh", `{}`)
	if v := c.expectEvent("todo:1", "state:change")["version"]; v != 1.0 {
		t.Errorf("refresh version %v, want 1", v)
	}
}

func TestUnknownEvent(t *testing.T) {
	_, c, _ := setup(t, livestate.Options{})
	joinTodos(t, c, "todo:1", `{}`)
	ref := c.push("todo:1", "something_else", `{}`)
	c.expect(`["1","` + ref + `","todo:1","phx_reply",{"status":"error","response":{"reason":"unknown event something_else"}}]`)
	// an event name the handler does not know is the handler's error
	ref = c.push("todo:1", "lvs_evt:nope", `{}`)
	c.expect(`["1",null,"todo:1","error",{"message":"unknown event \"nope\""}]`)
	// a failed callback that changed nothing sends no patch: the error is the answer
	c.expect(
		`["1","` + ref + `","todo:1","phx_reply",{"status":"error","response":{"reason":"unknown event \"nope\""}}]`,
	)
	c.expectNothing()
}

// TestHandlerError: the error is pushed, the change made before it is
// synced, and the push gets an error reply.
func TestHandlerError(t *testing.T) {
	_, c, _ := setup(t, livestate.Options{})
	m := joinTodos(t, c, "todo:1", `{}`)
	ref := c.push("todo:1", "lvs_evt:fail", `{}`)
	c.expect(`["1",null,"todo:1","error",{"message":"bad thing"}]`)
	c.update(m, "todo:1", lvsNames)
	c.expect(`["1","` + ref + `","todo:1","phx_reply",{"status":"error","response":{"reason":"bad thing"}}]`)
	if m.state.(map[string]any)["filter"] != "failed" {
		t.Errorf("state %v", m.state)
	}
	ref = c.push("todo:1", "lvs_evt:fail_payload", `{}`)
	c.expect(`["1",null,"todo:1","error",{"code":7,"message":"with payload"}]`)
	c.expect(
		`["1","` + ref + `","todo:1","phx_reply",{"status":"error","response":{"reason":"with payload"}}]`,
	)
	// a payload the handler cannot decode is its error too
	ref = c.push("todo:1", "lvs_evt:add", `"not an object"`)
	msg, _ := c.expectEvent("todo:1", "error")["message"].(string)
	if !strings.HasPrefix(msg, "json: cannot unmarshal string") {
		t.Errorf("error message %q", msg)
	}
	c.expect(`["1","` + ref + `","todo:1","phx_reply",{"status":"error","response":{"reason":` + strconvQuote(msg) + `}}]`)
	c.expectNothing()
}

// TestReplies: Socket.Reply answers the push after the state update.
func TestReplies(t *testing.T) {
	_, c, _ := setup(t, livestate.Options{})
	m := joinTodos(t, c, "todo:1", `{}`)
	ref := c.push("todo:1", "lvs_evt:reply", `{"title":"a"}`)
	c.update(m, "todo:1", lvsNames)
	c.expect(`["1","` + ref + `","todo:1","phx_reply",{"status":"ok","response":{"id":1}}]`)
	ref = c.push("todo:1", "lvs_evt:reply_error", `{}`)
	c.expectEmptyPatch("todo:1")
	c.expect(`["1","` + ref + `","todo:1","phx_reply",{"status":"error","response":{"reason":"nope"}}]`)
	ref = c.push("todo:1", "lvs_evt:reply_error_map", `{}`)
	c.expectEmptyPatch("todo:1")
	c.expect(`["1","` + ref + `","todo:1","phx_reply",{"status":"error","response":{"code":3}}]`)
	// without Reply, a successful event gets no reply (as live_state)
	c.push("todo:1", "lvs_evt:toggle", `{"id":1}`)
	c.update(m, "todo:1", lvsNames)
	c.expectNothing()
}

func TestSendReachesHandleMessage(t *testing.T) {
	_, c, _ := setup(t, livestate.Options{})
	m := joinTodos(t, c, "todo:1", `{}`)
	c.push("todo:1", "lvs_evt:send", `{"title":"hi"}`)
	c.update(m, "todo:1", lvsNames) // the event's own (empty) update
	c.update(m, "todo:1", lvsNames) // HandleMessage's
	if got := m.state.(map[string]any)["filter"]; got != "sent:hi" {
		t.Errorf("filter %v, want sent:hi", got)
	}
	c.expectNothing()
}

// TestBroadcast: reg.Broadcast on a state channel's topic reaches
// HandleMessage as *phx.Broadcast; a plain channel on the same socket gets
// the frame.
func TestBroadcast(t *testing.T) {
	reg, c, _ := setup(t, livestate.Options{})
	m := joinTodos(t, c, "todo:1", `{}`)
	c.send(`["2","2","room:lobby","phx_join",{}]`)
	c.expect(`["2","2","room:lobby","phx_reply",{"status":"ok","response":{}}]`)

	if n, err := reg.Broadcast(context.Background(), "todo:1", "renamed", map[string]string{"title": "T"}); err != nil || n != 1 {
		t.Fatalf("Broadcast = %d, %v", n, err)
	}
	c.expect(`["1",null,"todo:1","got_broadcast",{"event":"renamed"}]`)
	c.update(m, "todo:1", lvsNames)
	if got := m.state.(map[string]any)["filter"]; got != "todo:1/renamed/T" {
		t.Errorf("filter %v", got)
	}

	// a state channel broadcasting to the plain room
	c.push("todo:1", "lvs_evt:broadcast", `{"topic":"room:lobby","title":"hello"}`)
	c.expect(`[null,null,"room:lobby","from_channel",{"title":"hello"}]`)
	c.expectEmptyPatch("todo:1")
	c.expectNothing()
}

func TestSubscribe(t *testing.T) {
	reg, c, _ := setup(t, livestate.Options{})
	m := joinTodos(t, c, "todo:1", `{"subscribe":"news"}`)
	reg.Broadcast(context.Background(), "news", "flash", map[string]string{"title": "A"})
	c.expect(`["1",null,"todo:1","got_broadcast",{"event":"flash"}]`)
	c.update(m, "todo:1", lvsNames)
	ref := c.push("todo:1", "lvs_evt:subscribe", `{"topic":"more"}`)
	c.update(m, "todo:1", lvsNames)
	c.expect(`["1","` + ref + `","todo:1","phx_reply",{"status":"ok","response":{"subscribed":"more"}}]`)
	reg.Broadcast(context.Background(), "more", "flash", map[string]string{"title": "B"})
	c.expect(`["1",null,"todo:1","got_broadcast",{"event":"flash"}]`)
	c.update(m, "todo:1", lvsNames)
	if got := m.state.(map[string]any)["filter"]; got != "more/flash/B" {
		t.Errorf("filter %v", got)
	}
}

func TestClosedReasons(t *testing.T) {
	t.Run("leave", func(t *testing.T) {
		_, c, closed := setup(t, livestate.Options{})
		joinTodos(t, c, "todo:1", `{}`)
		c.send(`["1","9","todo:1","phx_leave",{}]`)
		c.expect(`["1","9","todo:1","phx_reply",{"status":"ok","response":{}}]`, `["1","1","todo:1","phx_close",{}]`)
		if err := waitClosed(t, closed); !errors.Is(err, phx.ErrLeft) {
			t.Errorf("reason %v, want ErrLeft", err)
		}
	})
	t.Run("disconnect", func(t *testing.T) {
		_, c, closed := setup(t, livestate.Options{ResumeGrace: -1})
		joinTodos(t, c, "todo:1", `{}`)
		c.Sess.Detach()
		if err := waitClosed(t, closed); !errors.Is(err, phx.ErrDisconnected) || errors.Is(err, livestate.ErrResumeExpired) {
			t.Errorf("reason %v, want ErrDisconnected", err)
		}
	})
	t.Run("disconnect, not resumed in time", func(t *testing.T) {
		_, c, closed := setup(t, livestate.Options{ResumeGrace: 50 * time.Millisecond})
		joinTodos(t, c, "todo:1", `{}`)
		c.Sess.Detach()
		if err := waitClosed(t, closed); !errors.Is(err, livestate.ErrResumeExpired) || !errors.Is(err, phx.ErrDisconnected) {
			t.Errorf("reason %v, want ErrResumeExpired (matching ErrDisconnected)", err)
		}
	})
	t.Run("duplicate join", func(t *testing.T) {
		_, c, closed := setup(t, livestate.Options{})
		joinTodos(t, c, "todo:1", `{}`)
		c.send(`["5","5","todo:1","phx_join",{}]`)
		c.expect(`["5","5","todo:1","phx_reply",{"status":"ok","response":{}}]`)
		// The old channel's phx_close and the new one's first state:change
		// (sent by its AfterJoin) come in either order.
		var sawClose, sawState bool
		for range 2 {
			switch f := c.next(); {
			case f.JoinRef == "1" && f.Ref == "1" && f.Event == "phx_close":
				sawClose = true
			case f.JoinRef == "5" && f.Ref == nil && f.Event == "state:change":
				if p, _ := f.Payload.(map[string]any); p["version"] != 0.0 {
					t.Errorf("new join's state:change %v", f.Payload)
				}
				sawState = true
			default:
				t.Fatalf("unexpected frame %+v", f)
			}
		}
		if !sawClose || !sawState {
			t.Fatalf("phx_close seen %v, state:change seen %v", sawClose, sawState)
		}
		if err := waitClosed(t, closed); !errors.Is(err, phx.ErrDuplicateJoin) {
			t.Errorf("reason %v, want ErrDuplicateJoin", err)
		}
	})
	t.Run("server close", func(t *testing.T) {
		_, c, closed := setup(t, livestate.Options{})
		joinTodos(t, c, "todo:1", `{}`)
		c.push("todo:1", "lvs_evt:close", `{}`)
		c.expectEmptyPatch("todo:1")
		c.expect(`["1","1","todo:1","phx_close",{}]`)
		if err := waitClosed(t, closed); !errors.Is(err, phx.ErrServerClose) {
			t.Errorf("reason %v, want ErrServerClose", err)
		}
	})
	t.Run("shutdown", func(t *testing.T) {
		reg, c, closed := setup(t, livestate.Options{})
		joinTodos(t, c, "todo:1", `{}`)
		go func() { // the transport: drain, then let go
			for {
				if _, err := c.Sess.Next(context.Background()); err != nil {
					c.Sess.Detach()
					return
				}
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := reg.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if err := waitClosed(t, closed); !errors.Is(err, phx.ErrShutdown) {
			t.Errorf("reason %v, want ErrShutdown", err)
		}
	})
	t.Run("crash", func(t *testing.T) {
		_, c, closed := setup(t, livestate.Options{})
		joinTodos(t, c, "todo:1", `{}`)
		c.push("todo:1", "lvs_evt:panic", `{}`)
		c.expect(`["1","1","todo:1","phx_error",{"reason":"channel_crash"}]`)
		if err := waitClosed(t, closed); !errors.Is(err, phx.ErrCrashed) {
			t.Errorf("reason %v, want ErrCrashed", err)
		}
		// the connection goes on: rejoin
		c.send(`["3","3","todo:1","phx_join",{}]`)
		c.expect(`["3","3","todo:1","phx_reply",{"status":"ok","response":{}}]`)
		c.expectEvent("todo:1", "state:change")
	})
}

func TestDialects(t *testing.T) {
	t.Run("synq", func(t *testing.T) {
		_, c, _ := setup(t, livestate.Options{Messages: livestate.SynqDialect()})
		c.send(`["1","1","todo:1","phx_join",{"todos":10}]`)
		c.expect(`["1","1","todo:1","phx_reply",{"status":"ok","response":{}}]`)
		m := &mirror{t: t}
		m.change(c.expectEvent("todo:1", "synq:change"))
		c.push("todo:1", "lvs_evt:add", `{"title":"a"}`)
		if ev := c.update(m, "todo:1", names{"synq:change", "synq:patch", "patch"}); ev != "synq:patch" {
			t.Errorf("update sent as %s", ev)
		}
		c.push("todo:1", "lvs_evt:fail_payload", `{}`)
		c.expectEvent("todo:1", "synq:error")
		c.next() // the error reply (no update: the failed event changed nothing)
		c.push("todo:1", "lvs_refresh", `{}`)
		c.expectEvent("todo:1", "synq:change")
	})
	t.Run("seance", func(t *testing.T) {
		_, c, _ := setup(t, livestate.Options{Messages: livestate.SeanceDialect()})
		c.send(`["1","1","todo:1","phx_join",{"todos":10}]`)
		c.expect(`["1","1","todo:1","phx_reply",{"status":"ok","response":{}}]`)
		m := &mirror{t: t}
		m.change(c.expectEvent("todo:1", "seance:change"))
		c.push("todo:1", "seance:event:emit", `{}`)
		c.expect(
			`["1",null,"todo:1","seance:event",{"name":"first","detail":{"n":1}}]`,
			`["1",null,"todo:1","seance:event",{"name":"second","detail":{"n":2}}]`,
		)
		if ev := c.update(m, "todo:1", names{"seance:change", "seance:patch", "operations"}); ev != "seance:patch" {
			t.Errorf("update sent as %s", ev)
		}
		if m.version != 1 || m.state.(map[string]any)["filter"] != "active" {
			t.Errorf("state %v version %d", m.state, m.version)
		}
		ref := c.push("todo:1", "seance:event:fail", `{}`)
		c.expect(`["1",null,"todo:1","seance:error",{"message":"bad thing"}]`)
		c.update(m, "todo:1", names{"seance:change", "seance:patch", "operations"})
		c.expect(`["1","` + ref + `","todo:1","phx_reply",{"status":"error","response":{"reason":"bad thing"}}]`)
		c.push("todo:1", "seance:refresh", `{}`)
		if p := c.expectEvent("todo:1", "seance:change"); p["version"] != 2.0 {
			t.Errorf("refresh %v", p)
		}
		// the Seance JS client wraps events: seance:event {type, payload}
		c.push("todo:1", "seance:event", `{"type":"add","payload":{"title":"wrapped"}}`)
		if ev := c.update(m, "todo:1", names{"seance:change", "seance:patch", "operations"}); ev != "seance:patch" {
			t.Errorf("wrapped event's update sent as %s", ev)
		}
		if !strings.Contains(fmt.Sprint(m.state), "wrapped") {
			t.Errorf("wrapped event not handled: state %v", m.state)
		}
		ref = c.push("todo:1", "seance:event", `{"payload":{}}`)
		c.expect(`["1","` + ref + `","todo:1","phx_reply",{"status":"error","response":{"reason":"unknown event seance:event"}}]`)
		// LiveState names are not this dialect's
		ref = c.push("todo:1", "lvs_evt:add", `{}`)
		c.expect(`["1","` + ref + `","todo:1","phx_reply",{"status":"error","response":{"reason":"unknown event lvs_evt:add"}}]`)
	})
}

// recordingDiffer wraps a differ and counts calls, to check the injected
// Differ is the one used.
type recordingDiffer struct {
	calls int
	fixed []byte
}

func (d *recordingDiffer) Diff(prev, next any) ([]byte, error) {
	d.calls++
	return d.fixed, nil
}

func TestCustomDiffer(t *testing.T) {
	d := &recordingDiffer{fixed: []byte(`[{"op":"replace","path":"/filter","value":"custom"}]`)}
	_, c, _ := setup(t, livestate.Options{Differ: d})
	joinTodos(t, c, "todo:1", `{"todos":5}`)
	c.push("todo:1", "lvs_evt:emit", `{}`)
	c.expectEvent("todo:1", "first")
	c.expectEvent("todo:1", "second")
	p := c.expectEvent("todo:1", "state:patch")
	if d.calls != 1 {
		t.Errorf("differ called %d times", d.calls)
	}
	if got, _ := json.Marshal(p["patch"]); string(got) != string(d.fixed) {
		t.Errorf("patch %s, want the differ's %s", got, d.fixed)
	}
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
