package livestatetest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/livestate/livestatetest"
	"github.com/seance-go/seance/phx"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type todo struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Done  bool   `json:"done"`
}

type todos struct {
	Todos []todo `json:"todos"`
}

type todoChannel struct{ next int }

func (c *todoChannel) Init(ctx context.Context, s *livestate.Socket, params phx.Payload) (todos, error) {
	var p struct {
		Seed []string `json:"seed"`
	}
	if err := params.Decode(&p); err != nil {
		return todos{}, err
	}
	st := todos{Todos: []todo{}}
	for _, t := range p.Seed {
		c.next++
		st.Todos = append(st.Todos, todo{ID: fmt.Sprint(c.next), Title: t})
	}
	return st, nil
}

func (c *todoChannel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, payload phx.Payload, st *todos) error {
	switch event {
	case "add":
		var in struct{ Title string }
		if err := payload.Decode(&in); err != nil {
			return err
		}
		if strings.TrimSpace(in.Title) == "" {
			s.ReplyError("title required")
			return nil
		}
		c.next++
		st.Todos = append(st.Todos, todo{ID: fmt.Sprint(c.next), Title: in.Title})
		s.Emit("added", map[string]string{"id": fmt.Sprint(c.next)})
		s.Reply(map[string]int{"count": len(st.Todos)})
	case "toggle":
		var in struct{ ID string }
		payload.Decode(&in)
		for i := range st.Todos {
			if st.Todos[i].ID == in.ID {
				st.Todos[i].Done = !st.Todos[i].Done
			}
		}
	case "nothing":
	default:
		return errors.New("unknown event " + event)
	}
	return nil
}

func newRegistry() *livestate.Registry {
	reg := livestate.NewRegistry(livestate.Config{})
	reg.Handle("todo:*", livestate.New(func() livestate.Channel[todos] { return &todoChannel{} }, livestate.Options{}))
	return reg
}

func TestHelpers(t *testing.T) {
	reg := newRegistry()
	c := livestatetest.Join(t, reg, "todo:1", livestatetest.Options{Params: map[string]any{"seed": []string{"a", "b"}}})
	c.AssertStateChange(`{"todos":[{"id":"1","title":"a","done":false},{"id":"2","title":"b","done":false}]}`)

	c.SendEvent("toggle", map[string]string{"id": "2"})
	c.AssertStatePatch(`[{"op":"replace","path":"/todos/1/done","value":true}]`)

	ref := c.SendEvent("add", map[string]string{"title": "c"})
	c.AssertEvent("added", map[string]string{"id": "3"})
	c.AssertStatePatch(`[{"op":"add","path":"/todos/-","value":{"id":"3","title":"c","done":false}}]`)
	c.AssertReply(ref, "ok", map[string]int{"count": 3})
	var st todos
	c.StateInto(&st)
	if len(st.Todos) != 3 || st.Todos[2].Title != "c" || !st.Todos[1].Done {
		t.Fatalf("mirrored state %+v", st)
	}
	if c.Version() != 2 {
		t.Fatalf("version %d, want 2", c.Version())
	}

	ref = c.SendEvent("add", map[string]string{"title": "  "})
	c.AssertReply(ref, "error", map[string]string{"reason": "title required"})
	c.AssertStatePatch(`[]`) // every handled event is an update (live_state)

	c.SendEvent("nothing", nil)
	c.AssertStatePatch(`[]`)

	ref = c.SendEvent("bogus", nil)
	c.AssertEvent("error", map[string]string{"message": "unknown event bogus"})
	// A callback that failed and changed nothing sends no update.
	c.AssertReply(ref, "error", map[string]string{"reason": "unknown event bogus"})
	c.AssertNoMessage()
	if c.Version() != 4 {
		t.Fatalf("version %d, want 4", c.Version())
	}

	c.Refresh()
	c.AssertStateChange(c.State())
}

// recorder is a TB that records failures instead of stopping the test.
type recorder struct {
	failed   string
	cleanups []func()
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	panic(r)
}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

func (r *recorder) run(f func()) {
	defer func() {
		if p := recover(); p != nil && p != any(r) {
			panic(p)
		}
		for i := len(r.cleanups) - 1; i >= 0; i-- {
			r.cleanups[i]()
		}
	}()
	f()
}

func TestFailureMessagesShowTheDifference(t *testing.T) {
	reg := newRegistry()
	r := &recorder{}
	r.run(func() {
		c := livestatetest.Join(r, reg, "todo:2", livestatetest.Options{})
		c.AssertStateChange(`{"todos":[{"id":"9"}]}`)
	})
	if !strings.Contains(r.failed, "state mismatch (-want +got)") || !strings.Contains(r.failed, `"9"`) {
		t.Fatalf("failure message does not show the diff:\n%s", r.failed)
	}

	r = &recorder{}
	r.run(func() {
		c := livestatetest.Join(r, reg, "todo:3", livestatetest.Options{})
		c.AssertStatePatch(`[]`) // the next state message is a state:change
	})
	if !strings.Contains(r.failed, "got state:change") {
		t.Fatalf("failure message: %s", r.failed)
	}
}

func TestJoinRefused(t *testing.T) {
	reg := newRegistry()
	_, status, resp := livestatetest.JoinResult(t, reg, "nope:1", livestatetest.Options{})
	if status != "error" || !strings.Contains(string(resp), "unmatched topic") {
		t.Fatalf("status %q response %s", status, resp)
	}
}

// AssertState checks the state after each update whether the channel sent
// a patch or, when a patch would not be smaller, the whole state.
func TestAssertStateAcceptsPatchOrChange(t *testing.T) {
	reg := newRegistry()
	c := livestatetest.Join(t, reg, "todo:4", livestatetest.Options{Params: map[string]any{"seed": []string{"a"}}})
	c.AssertState(`{"todos":[{"id":"1","title":"a","done":false}]}`) // a state:change

	c.SendEvent("toggle", map[string]string{"id": "1"})
	c.AssertState(`{"todos":[{"id":"1","title":"a","done":true}]}`) // a state:patch

	// The state checked is the one right after that message, even when
	// later messages were already received.
	added := c.SendEvent("add", map[string]string{"title": "b"})
	c.SendEvent("toggle", map[string]string{"id": "2"})
	last := c.SendEvent("add", map[string]string{"title": " "})
	c.AssertReply(last, "error", map[string]string{"reason": "title required"}) // all received
	c.AssertEvent("added", map[string]string{"id": "2"})
	c.AssertReply(added, "ok", map[string]int{"count": 2})
	c.AssertState(`{"todos":[{"id":"1","title":"a","done":true},{"id":"2","title":"b","done":false}]}`)
	c.AssertState(`{"todos":[{"id":"1","title":"a","done":true},{"id":"2","title":"b","done":true}]}`)
	c.AssertStatePatch(`[]`) // the refused add was handled: live_state's empty patch
	c.AssertNoMessage()

	r := &recorder{}
	r.run(func() {
		c := livestatetest.Join(r, reg, "todo:5", livestatetest.Options{})
		c.AssertState(`{"todos":[{"id":"9"}]}`)
	})
	if !strings.Contains(r.failed, "state mismatch (-want +got)") || !strings.Contains(r.failed, `"9"`) {
		t.Fatalf("failure message does not show the diff:\n%s", r.failed)
	}
}
