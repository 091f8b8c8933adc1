package livestate_test

import (
	"testing"
	"time"

	"github.com/seance-go/seance/livestate"
)

// TestStateOf: a shared topic's version and size are reported as its
// clients see them; per-client channels and unknown topics are not.
func TestStateOf(t *testing.T) {
	reg, _ := setupShared(t, livestate.Options{})
	reg.Handle("todo:*", livestate.New(func() livestate.Channel[benchTodos] { return todoBench{} }, livestate.Options{}))
	ep := reg.Endpoint()
	h, pattern := ep.Route("board:1")
	if pattern != "board:*" || h == nil {
		t.Fatalf("Route: %v %q", h, pattern)
	}
	if _, ok := livestate.StateOf(h, "board:1"); ok {
		t.Error("a state reported before any join")
	}
	c, m := joinShared(t, reg, "board:1")
	c.push("board:1", "lvs_evt:inc", `{}`)
	updateFrame(t, c, m, "board:1")
	// The update can reach the client before the topic's lock is released,
	// and StateOf reports nothing for a topic busy at that moment (it never
	// waits for one): ask again until it is free.
	st, ok := livestate.StateOf(h, "board:1")
	for deadline := time.Now().Add(waitTimeout); !ok && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		st, ok = livestate.StateOf(h, "board:1")
	}
	if !ok || st.Version != m.version || st.Version != 1 {
		t.Errorf("StateOf %+v %v, want version %d", st, ok, m.version)
	}
	if st.Bytes < len(boardName) {
		t.Errorf("state of %d bytes, want at least the board's name", st.Bytes)
	}
	if _, ok := livestate.StateOf(h, "board:2"); ok {
		t.Error("a state reported for a topic nobody joined")
	}
	if th, _ := ep.Route("todo:1"); th == nil {
		t.Error("no route to todo:1")
	} else if _, ok := livestate.StateOf(th, "todo:1"); ok {
		t.Error("a per-client LiveState reported as a topic's state")
	}
	if h, p := ep.Route("nothing:1"); h != nil || p != "" {
		t.Errorf("Route of an unrouted topic: %v %q", h, p)
	}
}
