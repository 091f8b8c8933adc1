package livestate_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/seance-go/seance/client"
	"github.com/seance-go/seance/client/internal/phxtest"
	"github.com/seance-go/seance/client/livestate"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// setup connects, joins topic through a Mirror and returns the server side
// of the connection, the join frame and a channel of changes.
func setup(t *testing.T) (*livestate.Mirror, *phxtest.Conn, phxtest.Frame, <-chan livestate.Change) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), phxtest.Wait)
	t.Cleanup(cancel)
	srv := phxtest.NewServer(t, nil)
	s, err := client.Dial(ctx, srv.URL, &client.Options{HeartbeatInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := srv.Accept(t)
	m := livestate.New(s, "todo:all", map[string]string{"list": "home"})
	changes := make(chan livestate.Change, 100)
	m.OnChange(func(ch livestate.Change) { changes <- ch })
	res := make(chan error, 1)
	go func() { res <- m.Join(ctx) }()
	j := c.Expect(t, "phx_join")
	if string(j.Payload) != `{"list":"home"}` {
		t.Errorf("join params %s", j.Payload)
	}
	c.Reply(j, "ok", nil)
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	return m, c, j, changes
}

func recv[T any](t *testing.T, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(phxtest.Wait):
		t.Fatal("timeout")
		var zero T
		return zero
	}
}

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func patch(c *phxtest.Conn, j phxtest.Frame, version int, ops string) {
	c.Push(j.JoinRef, "todo:all", "state:patch", map[string]any{"patch": json.RawMessage(ops), "version": version})
}

func change(c *phxtest.Conn, j phxtest.Frame, version int, state string) {
	c.Push(j.JoinRef, "todo:all", "state:change", map[string]any{"state": json.RawMessage(state), "version": version})
}

func checkState(t *testing.T, got livestate.Change, version int, want string) {
	t.Helper()
	if got.Version != version {
		t.Errorf("version %d, want %d", got.Version, version)
	}
	if diff := cmp.Diff(decode(t, want), got.State); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
}

func TestMirrorAppliesPatches(t *testing.T) {
	m, c, j, changes := setup(t)
	if m.State() != nil {
		t.Error("state before state:change")
	}
	change(c, j, 0, `{"todos":[],"title":"t"}`)
	checkState(t, recv(t, changes), 0, `{"todos":[],"title":"t"}`)

	patch(c, j, 1, `[{"op":"add","path":"/todos/0","value":"Do a thing"}]`)
	checkState(t, recv(t, changes), 1, `{"todos":["Do a thing"],"title":"t"}`)
	patch(c, j, 2, `[{"op":"add","path":"/todos/-","value":null},{"op":"replace","path":"/title","value":"u"}]`)
	checkState(t, recv(t, changes), 2, `{"todos":["Do a thing",null],"title":"u"}`)
	patch(c, j, 3, `[]`) // a no-op event still bumps the version
	checkState(t, recv(t, changes), 3, `{"todos":["Do a thing",null],"title":"u"}`)

	var typed struct {
		Todos []*string `json:"todos"`
		Title string    `json:"title"`
	}
	if err := m.StateInto(&typed); err != nil {
		t.Fatal(err)
	}
	if len(typed.Todos) != 2 || *typed.Todos[0] != "Do a thing" || typed.Todos[1] != nil || typed.Title != "u" {
		t.Errorf("StateInto = %+v", typed)
	}
	if v, ok := m.Version(); v != 3 || !ok {
		t.Errorf("Version = %d, %v", v, ok)
	}
	// State returns a copy.
	m.State().(map[string]any)["title"] = "changed"
	if m.State().(map[string]any)["title"] != "u" {
		t.Error("State shares the mirror's tree")
	}
}

func TestMirrorRefreshes(t *testing.T) {
	_, c, j, changes := setup(t)

	// A patch before any state asks for a refresh.
	patch(c, j, 1, `[]`)
	r := c.Expect(t, "lvs_refresh")
	if string(r.Payload) != "{}" || r.JoinRef != j.JoinRef {
		t.Errorf("refresh frame %s", r.Raw)
	}
	change(c, j, 4, `{"n":4}`)
	checkState(t, recv(t, changes), 4, `{"n":4}`)

	// A version gap asks for a refresh and changes nothing.
	patch(c, j, 6, `[{"op":"replace","path":"/n","value":6}]`)
	c.Expect(t, "lvs_refresh")
	// So does a patch that does not apply.
	patch(c, j, 5, `[{"op":"replace","path":"/missing","value":5}]`)
	c.Expect(t, "lvs_refresh")
	// The server answers with the full state at its current version.
	change(c, j, 6, `{"n":6}`)
	checkState(t, recv(t, changes), 6, `{"n":6}`)

	// Version 0 is accepted after any version (the server's counter wrapped).
	patch(c, j, 0, `[{"op":"replace","path":"/n","value":0}]`)
	checkState(t, recv(t, changes), 0, `{"n":0}`)
	patch(c, j, 1, `[{"op":"remove","path":"/n"}]`)
	checkState(t, recv(t, changes), 1, `{}`)
}

func TestMirrorEventsAndErrors(t *testing.T) {
	m, c, j, _ := setup(t)
	errs := make(chan string, 1)
	m.OnError(func(p json.RawMessage) { errs <- string(p) })
	replies := make(chan string, 1)
	off := m.On("comment_added", func(p json.RawMessage) { replies <- string(p) })
	defer off()

	ctx := context.Background()
	if err := m.PushEvent(ctx, "add_todo", map[string]string{"todo": "x"}); err != nil {
		t.Fatal(err)
	}
	f := c.Expect(t, "lvs_evt:add_todo")
	if string(f.Payload) != `{"todo":"x"}` || f.JoinRef != j.JoinRef {
		t.Errorf("event frame %s", f.Raw)
	}
	c.Push(j.JoinRef, "todo:all", "comment_added", map[string]int{"id": 1})
	if got := recv(t, replies); got != `{"id":1}` {
		t.Errorf("reply event %s", got)
	}
	c.Push(j.JoinRef, "todo:all", "error", map[string]string{"message": "You suck"})
	if got := recv(t, errs); got != `{"message":"You suck"}` {
		t.Errorf("error push %s", got)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := m.PushEvent(cctx, "x", nil); err == nil {
		t.Error("PushEvent with canceled ctx: no error")
	}
}
