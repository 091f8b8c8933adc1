package livestate_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seance-go/seance/internal/sessiontest"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// countedTodos counts the Init calls of the todo channel and may implement
// Resumer.
type countedTodos struct {
	*todoChannel
	inits *atomic.Int32
}

func (c countedTodos) Init(ctx context.Context, s *livestate.Socket, params phx.Payload) (Todos, error) {
	c.inits.Add(1)
	return c.todoChannel.Init(ctx, s, params)
}

// resumingTodos also implements livestate.Resumer.
type resumingTodos struct{ countedTodos }

func (c resumingTodos) Resumed(_ context.Context, s *livestate.Socket, st *Todos) error {
	st.Filter = "resumed"
	s.Emit("welcome_back", map[string]int{"todos": len(st.Todos)})
	return nil
}

type resumeEnv struct {
	reg    *livestate.Registry
	h      phx.Handler
	inits  *atomic.Int32
	closed chan error
}

func setupResume(t *testing.T, opts livestate.Options, withResumer bool) *resumeEnv {
	t.Helper()
	e := &resumeEnv{reg: newRegistry(t), inits: new(atomic.Int32), closed: make(chan error, 8)}
	e.h = livestate.New(func() livestate.Channel[Todos] {
		c := countedTodos{&todoChannel{closed: e.closed}, e.inits}
		if withResumer {
			return resumingTodos{c}
		}
		return c
	}, opts)
	e.reg.Handle("todo:*", e.h)
	return e
}

// openAs opens a connection with identity and, unless empty, a client_id
// connect param.
func (e *resumeEnv) openAs(t *testing.T, identity any, clientID string) *client {
	t.Helper()
	info := phx.ConnectInfo{Transport: "test", Identity: identity, Params: map[string]any{"vsn": "2.0.0"}}
	if clientID != "" {
		info.Params[livestate.ClientIDParam] = clientID
	}
	return &client{Client: sessiontest.Open(t, e.reg.Endpoint(), info, phx.V2JSON(), true)}
}

// waitKept waits until the handler keeps n channels.
func (e *resumeEnv) waitKept(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		got, _ := livestate.KeptStats(e.h)
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d channels kept, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// noClose checks that no close hook ran.
func (e *resumeEnv) noClose(t *testing.T) {
	t.Helper()
	select {
	case err := <-e.closed:
		t.Fatalf("close hook ran with %v", err)
	default:
	}
}

// build joins todo:1 as ann/tab1, adds two todos and changes a
// server-only field; it returns the client's mirror.
func (e *resumeEnv) build(t *testing.T, c *client) *mirror {
	t.Helper()
	m := joinTodos(t, c, "todo:1", `{}`)
	c.push("todo:1", "lvs_evt:add", `{"title":"milk"}`)
	c.update(m, "todo:1", lvsNames)
	c.push("todo:1", "lvs_evt:add", `{"title":"eggs"}`)
	c.update(m, "todo:1", lvsNames)
	c.push("todo:1", "lvs_evt:secret", `{"title":"abc"}`)
	c.expectEmptyPatch("todo:1")
	m.version++
	return m
}

func TestResumeContinuesWithoutInit(t *testing.T) {
	e := setupResume(t, livestate.Options{}, false)
	c1 := e.openAs(t, "ann", "tab1")
	m := e.build(t, c1)
	if m.version != 3 {
		t.Fatalf("version %d before the disconnect, want 3", m.version)
	}
	c1.Sess.Detach() // the connection drops: no phx_leave
	e.waitKept(t, 1)
	e.noClose(t)

	c2 := e.openAs(t, "ann", "tab1")
	c2.send(`["7","7","todo:1","phx_join",{}]`)
	c2.expect(`["7","7","todo:1","phx_reply",{"status":"ok","response":{}}]`)
	p := c2.expectEvent("todo:1", "state:change")
	if p["version"] != 3.0 {
		t.Fatalf("resumed state:change %v, want version 3", p)
	}
	m2 := &mirror{t: t}
	m2.change(p)
	if got := len(m2.state.(map[string]any)["todos"].([]any)); got != 2 {
		t.Fatalf("resumed state %v, want the two todos", m2.state)
	}
	// Later patches continue the sequence, on the new join_ref.
	c2.Send(`["7","20","todo:1","lvs_evt:add",{"title":"tea"}]`)
	f := c2.next()
	if f.JoinRef != "7" || f.Event != "state:patch" {
		t.Fatalf("got %v", f)
	}
	m2.patch(f.Payload.(map[string]any), "patch")
	if m2.version != 4 || len(m2.state.(map[string]any)["todos"].([]any)) != 3 {
		t.Fatalf("after resume: version %d state %v", m2.version, m2.state)
	}
	// The channel value's server-only field survived.
	c2.Send(`["7","21","todo:1","lvs_evt:whoami",{}]`)
	for {
		f := c2.next()
		if f.Event == "phx_reply" {
			resp := f.Payload.(map[string]any)["response"].(map[string]any)
			if resp["secret_len"] != 3.0 {
				t.Fatalf("whoami %v: server-only field lost", resp)
			}
			break
		}
	}
	if n := e.inits.Load(); n != 1 {
		t.Fatalf("Init ran %d times, want 1", n)
	}
	if n, _ := livestate.KeptStats(e.h); n != 0 {
		t.Fatalf("%d channels still kept after the resume", n)
	}
	e.noClose(t)
}

func TestResumeNeverCrossesClients(t *testing.T) {
	cases := []struct {
		name     string
		identity any
		clientID string
	}{
		{"another identity, same client id", "bob", "tab1"},
		{"same identity, another client id", "ann", "tab2"},
		{"same identity, no client id", "ann", ""},
		{"no identity, same client id", nil, "tab1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := setupResume(t, livestate.Options{}, false)
			c1 := e.openAs(t, "ann", "tab1")
			e.build(t, c1)
			c1.Sess.Detach()
			e.waitKept(t, 1)

			other := e.openAs(t, tc.identity, tc.clientID)
			m := joinTodos(t, other, "todo:1", `{}`) // a fresh Init: version 0
			if n := len(m.state.(map[string]any)["todos"].([]any)); n != 0 {
				t.Fatalf("%s got state %v", tc.name, m.state)
			}
			if n := e.inits.Load(); n != 2 {
				t.Fatalf("Init ran %d times, want 2", n)
			}
			// ann's channel is still kept for ann.
			e.waitKept(t, 1)
			c2 := e.openAs(t, "ann", "tab1")
			c2.send(`["1","1","todo:1","phx_join",{}]`)
			c2.expect(`["1","1","todo:1","phx_reply",{"status":"ok","response":{}}]`)
			if p := c2.expectEvent("todo:1", "state:change"); p["version"] != 3.0 {
				t.Fatalf("ann's resume got %v", p)
			}
		})
	}
}

func TestResumeNeedsIdentityOrClientID(t *testing.T) {
	e := setupResume(t, livestate.Options{}, false)
	c := e.openAs(t, nil, "")
	joinTodos(t, c, "todo:1", `{}`)
	c.Sess.Detach()
	if err := waitClosed(t, e.closed); !errors.Is(err, phx.ErrDisconnected) || errors.Is(err, livestate.ErrResumeExpired) {
		t.Fatalf("reason %v, want a plain disconnect", err)
	}
	if n, _ := livestate.KeptStats(e.h); n != 0 {
		t.Fatalf("%d kept", n)
	}
}

func TestResumeNotAfterLeave(t *testing.T) {
	e := setupResume(t, livestate.Options{}, false)
	c := e.openAs(t, "ann", "tab1")
	joinTodos(t, c, "todo:1", `{}`)
	c.send(`["1","9","todo:1","phx_leave",{}]`)
	if err := waitClosed(t, e.closed); !errors.Is(err, phx.ErrLeft) {
		t.Fatalf("reason %v", err)
	}
	c.Sess.Detach()
	if n, _ := livestate.KeptStats(e.h); n != 0 {
		t.Fatalf("%d kept after a leave", n)
	}
}

func TestResumeGraceExpires(t *testing.T) {
	e := setupResume(t, livestate.Options{ResumeGrace: 100 * time.Millisecond}, false)
	c1 := e.openAs(t, "ann", "tab1")
	e.build(t, c1)
	c1.Sess.Detach()
	if err := waitClosed(t, e.closed); !errors.Is(err, livestate.ErrResumeExpired) {
		t.Fatalf("reason %v, want ErrResumeExpired", err)
	}
	e.waitKept(t, 0)
	c2 := e.openAs(t, "ann", "tab1")
	m := joinTodos(t, c2, "todo:1", `{}`) // fresh Init at version 0
	if n := len(m.state.(map[string]any)["todos"].([]any)); n != 0 {
		t.Fatalf("state %v after the grace period", m.state)
	}
	if n := e.inits.Load(); n != 2 {
		t.Fatalf("Init ran %d times, want 2", n)
	}
}

func TestResumeBounds(t *testing.T) {
	t.Run("count", func(t *testing.T) {
		e := setupResume(t, livestate.Options{MaxKept: 1}, false)
		a := e.openAs(t, "ann", "tab1")
		joinTodos(t, a, "todo:1", `{}`)
		a.Sess.Detach()
		e.waitKept(t, 1)
		b := e.openAs(t, "bob", "tab1")
		joinTodos(t, b, "todo:1", `{}`)
		b.Sess.Detach()
		// bob's channel pushes ann's (the oldest) out.
		if err := waitClosed(t, e.closed); !errors.Is(err, livestate.ErrResumeExpired) {
			t.Fatalf("reason %v", err)
		}
		e.waitKept(t, 1)
		c := e.openAs(t, "ann", "tab1")
		joinTodos(t, c, "todo:1", `{}`) // fresh: version 0
	})
	t.Run("bytes", func(t *testing.T) {
		e := setupResume(t, livestate.Options{MaxKeptBytes: 20}, false)
		a := e.openAs(t, "ann", "tab1")
		joinTodos(t, a, "todo:1", `{"todos":3}`) // larger than 20 bytes
		a.Sess.Detach()
		if err := waitClosed(t, e.closed); !errors.Is(err, phx.ErrDisconnected) || errors.Is(err, livestate.ErrResumeExpired) {
			t.Fatalf("reason %v, want a plain disconnect", err)
		}
		if n, _ := livestate.KeptStats(e.h); n != 0 {
			t.Fatalf("%d kept", n)
		}
	})
}

func TestResumeShutdownEndsKept(t *testing.T) {
	e := setupResume(t, livestate.Options{}, false)
	c := e.openAs(t, "ann", "tab1")
	joinTodos(t, c, "todo:1", `{}`)
	c.Sess.Detach()
	e.waitKept(t, 1)
	if err := e.reg.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := waitClosed(t, e.closed); !errors.Is(err, phx.ErrShutdown) {
		t.Fatalf("reason %v, want ErrShutdown", err)
	}
	e.waitKept(t, 0)
}

func TestResumeSubscriptionsAndResumer(t *testing.T) {
	e := setupResume(t, livestate.Options{}, true)
	c1 := e.openAs(t, "ann", "tab1")
	joinTodos(t, c1, "todo:1", `{"subscribe":"news","todos":1}`)
	c1.Sess.Detach()
	e.waitKept(t, 1)

	c2 := e.openAs(t, "ann", "tab1")
	c2.send(`["1","1","todo:1","phx_join",{}]`)
	c2.expect(`["1","1","todo:1","phx_reply",{"status":"ok","response":{}}]`)
	m := &mirror{t: t}
	m.change(c2.expectEvent("todo:1", "state:change"))
	if m.version != 0 {
		t.Fatalf("version %d", m.version)
	}
	// Resumed runs after the kept state: its events, then its patch.
	c2.expect(`["1",null,"todo:1","welcome_back",{"todos":1}]`)
	c2.update(m, "todo:1", lvsNames)
	if m.version != 1 || m.state.(map[string]any)["filter"] != "resumed" {
		t.Fatalf("after Resumed: v%d %v", m.version, m.state)
	}
	// The subscription made in Init is renewed.
	if _, err := e.reg.Broadcast(context.Background(), "news", "flash", map[string]string{"title": "A"}); err != nil {
		t.Fatal(err)
	}
	c2.expect(`["1",null,"todo:1","got_broadcast",{"event":"flash"}]`)
	c2.update(m, "todo:1", lvsNames)
	if got := m.state.(map[string]any)["filter"]; got != "news/flash/A" {
		t.Fatalf("filter %v", got)
	}
	if n := e.inits.Load(); n != 1 {
		t.Fatalf("Init ran %d times", n)
	}
}

// TestResumeTakesOverAHalfOpenConnection: the client rejoins on a new
// connection while the server still holds its previous one open (it has not
// noticed the drop): the new join takes the channel over — state, version,
// no Init — and the old connection's channel is closed (phx_close).
func TestResumeTakesOverAHalfOpenConnection(t *testing.T) {
	e := setupResume(t, livestate.Options{}, false)
	c1 := e.openAs(t, "ann", "tab1")
	e.build(t, c1)

	c2 := e.openAs(t, "ann", "tab1")
	c2.send(`["7","7","todo:1","phx_join",{}]`)
	c2.expect(`["7","7","todo:1","phx_reply",{"status":"ok","response":{}}]`)
	if p := c2.expectEvent("todo:1", "state:change"); p["version"] != 3.0 || len(p["state"].(map[string]any)["todos"].([]any)) != 2 {
		t.Fatalf("taken-over state:change %v, want the two todos at version 3", p)
	}
	c1.expect(`["1","1","todo:1","phx_close",{}]`)
	if n := e.inits.Load(); n != 1 {
		t.Fatalf("Init ran %d times, want 1", n)
	}
	e.noClose(t)
	c2.Send(`["7","20","todo:1","lvs_evt:add",{"title":"tea"}]`)
	if p := c2.expectEvent("todo:1", "state:patch"); p["version"] != 4.0 {
		t.Fatalf("next patch %v", p)
	}
	// Another identity with the same client id takes nothing over.
	c3 := e.openAs(t, "bob", "tab1")
	joinTodos(t, c3, "todo:1", `{}`)
	c2.ExpectNothing()
}

// TestResumeNoTakeOverWithoutClientID: without a client id a second
// connection of the same identity (another tab) leaves the first alone.
func TestResumeNoTakeOverWithoutClientID(t *testing.T) {
	e := setupResume(t, livestate.Options{}, false)
	c1 := e.openAs(t, "ann", "")
	e.build(t, c1)
	c2 := e.openAs(t, "ann", "")
	joinTodos(t, c2, "todo:1", `{}`) // fresh, version 0
	c1.ExpectNothing()
	if n := e.inits.Load(); n != 2 {
		t.Fatalf("Init ran %d times, want 2", n)
	}
}
