// Package inproc drives the engine without sockets: sessions opened on the
// registry's endpoint are fed frames with Session.Receive and drained with
// Session.Next, as livestate/livestatetest does. It measures the server's
// own time for an event on a big state, and the engine's memory per joined
// session at connection counts no socket limit allows.
package inproc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/seance-go/seance/bench/internal/bigstate"
	"github.com/seance-go/seance/bench/internal/load"
	"github.com/seance-go/seance/bench/internal/proto"
	"github.com/seance-go/seance/bench/internal/sysinfo"
	"github.com/seance-go/seance/diff"
	"github.com/seance-go/seance/phx"
)

// Conn is an in-process client of one session.
type Conn struct {
	Sess    *phx.Session
	ref     int
	pending []phx.Frame // received, not yet looked at
}

// Open opens a session on ep.
func Open(ep *phx.Endpoint) (*Conn, error) {
	s, err := ep.Open(phx.ConnectInfo{Transport: "inproc"}, phx.V2JSON(), false)
	if err != nil {
		return nil, err
	}
	return &Conn{Sess: s}, nil
}

// Push hands one client frame to the session.
func (c *Conn) Push(topic, event string, payload []byte) error {
	c.ref++
	return c.Sess.Receive(proto.Frame("1", strconv.Itoa(c.ref), topic, event, payload), false)
}

// PushInline hands one client frame to the session as the WebSocket
// handler does (Session.ReceiveInline), running the event's callback on
// the caller's goroutine when the channel is idle.
func (c *Conn) PushInline(topic, event string, payload []byte) error {
	c.ref++
	w, err := c.Sess.ReceiveInline(proto.Frame("1", strconv.Itoa(c.ref), topic, event, payload), false)
	if err != nil {
		return err
	}
	w.Run()
	return nil
}

// WaitFor drains outbound frames until one carries an event in want.
// Frames after it stay pending for the next call.
func (c *Conn) WaitFor(ctx context.Context, want ...string) ([]byte, error) {
	for {
		for len(c.pending) > 0 {
			f := c.pending[0]
			c.pending = c.pending[1:]
			for _, w := range want {
				if bytes.Contains(f.Data, []byte(`"`+w+`"`)) {
					return f.Data, nil
				}
			}
		}
		frames, err := c.Sess.Next(ctx)
		if err != nil {
			return nil, err
		}
		c.pending = frames
	}
}

// Join joins topic and waits for the reply and, when state is set, the
// first state:change.
func (c *Conn) Join(ctx context.Context, topic string, state bool) error {
	if err := c.Push(topic, "phx_join", nil); err != nil {
		return err
	}
	data, err := c.WaitFor(ctx, "phx_reply")
	if err != nil {
		return err
	}
	if !bytes.Contains(data, []byte(`"status":"ok"`)) {
		return fmt.Errorf("join refused: %s", data)
	}
	if state {
		_, err = c.WaitFor(ctx, "state:change")
	}
	return err
}

// BigResult is row 4 measured in-process: the typed state (big:*) and, in
// Doc, the same state held in a livestate.Doc (bigdoc:*).
type BigResult struct {
	StateBytes int          `json:"state_bytes"`
	Iters      int          `json:"iters"`
	Server     load.Latency `json:"server_event"`     // Receive(event) → state:patch frame queued
	Marshal    load.Latency `json:"baseline_marshal"` // json.Marshal of the state alone
	// The steps of livestate's sync, timed one by one on the same state.
	Unmarshal load.Latency `json:"step_unmarshal_tree"`
	Diff      load.Latency `json:"step_diff_tree"`
	Equal     load.Latency `json:"step_bytes_equal"`
	PatchOps  string       `json:"patch"`
	// Doc is the same state and change with a *livestate.Doc state; nil in
	// results of runs that did not measure it.
	Doc *DocBigResult `json:"doc,omitempty"`
}

// DocBigResult is the document form of row 4 measured in-process.
type DocBigResult struct {
	StateBytes int          `json:"state_bytes"`
	Server     load.Latency `json:"server_event"` // Receive(event) → state:patch frame queued
	// Record is the change alone on a Doc of its own: the callback's
	// Decode + Doc.Set, then Doc.TakePatch, which is all the sync does.
	Record   load.Latency `json:"step_set_take_patch"`
	PatchOps string       `json:"patch"`
}

// bigTopic is one joined big-state topic driven by events.
type bigTopic struct {
	c     *Conn
	topic string
	ds    []time.Duration
	last  string
}

func joinBig(ctx context.Context, ep *phx.Endpoint, topic string) (*bigTopic, int, error) {
	c, err := Open(ep)
	if err != nil {
		return nil, 0, err
	}
	if err := c.Push(topic, "phx_join", nil); err != nil {
		c.Sess.Detach()
		return nil, 0, err
	}
	change, err := c.WaitFor(ctx, "state:change")
	if err != nil {
		c.Sess.Detach()
		return nil, 0, err
	}
	return &bigTopic{c: c, topic: topic}, len(change), nil
}

// event pushes lvs_evt:touch and times it until the state:patch frame.
func (b *bigTopic) event(ctx context.Context, keep bool) error {
	t0 := time.Now()
	if err := b.c.Push(b.topic, "lvs_evt:touch", nil); err != nil {
		return err
	}
	data, err := b.c.WaitFor(ctx, "state:patch", "state:change", "error")
	if err != nil {
		return err
	}
	d := time.Since(t0)
	if !bytes.Contains(data, []byte(`"state:patch"`)) {
		return fmt.Errorf("%s: expected a state:patch, got %.200s", b.topic, data)
	}
	if keep {
		b.ds = append(b.ds, d)
	}
	b.last = string(data)
	return nil
}

// BigState measures an event on a big state through in-process sessions
// of a registry built by the caller: its "big:*" route (typed state) and
// its "bigdoc:*" route (the same state in a livestate.Doc), events
// alternating between the two so that drift of the machine falls on both;
// then the state's json.Marshal alone (the baseline) and the steps of each
// form's sync.
func BigState(ctx context.Context, ep *phx.Endpoint, size, iters int) (BigResult, error) {
	res := BigResult{Iters: iters, Doc: &DocBigResult{}}
	typed, n, err := joinBig(ctx, ep, "big:inproc")
	if err != nil {
		return res, err
	}
	defer typed.c.Sess.Detach()
	res.StateBytes = n
	doc, n, err := joinBig(ctx, ep, "bigdoc:inproc")
	if err != nil {
		return res, err
	}
	defer doc.c.Sess.Detach()
	res.Doc.StateBytes = n
	typed.ds, doc.ds = make([]time.Duration, 0, iters), make([]time.Duration, 0, iters)
	for i := range iters + 2 {
		for _, t := range []*bigTopic{typed, doc} {
			if err := t.event(ctx, i >= 2); err != nil {
				return res, err
			}
		}
	}
	res.Server, res.PatchOps = load.Summarize(typed.ds), typed.last
	res.Doc.Server, res.Doc.PatchOps = load.Summarize(doc.ds), doc.last

	st := bigstate.New(size)
	var prevTree any
	prev, _ := json.Marshal(&st)
	json.Unmarshal(prev, &prevTree)
	d := diff.Default()
	var ms, us, dfs, eqs []time.Duration
	for range iters {
		st.Items[bigstate.Touched(&st)].Detail.Counter++
		t0 := time.Now()
		data, err := json.Marshal(&st)
		t1 := time.Now()
		if err != nil {
			return res, err
		}
		eq := bytes.Equal(data, prev)
		t2 := time.Now()
		var tree any
		if err := json.Unmarshal(data, &tree); err != nil {
			return res, err
		}
		t3 := time.Now()
		if _, err := d.Diff(prevTree, tree); err != nil {
			return res, err
		}
		t4 := time.Now()
		if eq {
			return res, errors.New("state did not change")
		}
		ms, eqs, us, dfs = append(ms, t1.Sub(t0)), append(eqs, t2.Sub(t1)), append(us, t3.Sub(t2)), append(dfs, t4.Sub(t3))
		prev, prevTree = data, tree
	}
	res.Marshal, res.Equal, res.Unmarshal, res.Diff = load.Summarize(ms), load.Summarize(eqs), load.Summarize(us), load.Summarize(dfs)

	dd, err := bigstate.NewDoc(size)
	if err != nil {
		return res, err
	}
	dd.TakePatch()
	rs := make([]time.Duration, 0, iters)
	for range iters {
		t0 := time.Now()
		if err := bigstate.Touch(dd); err != nil {
			return res, err
		}
		patch, ok := dd.TakePatch()
		rs = append(rs, time.Since(t0))
		if !ok || len(patch) == 0 {
			return res, errors.New("Doc.Set recorded no patch")
		}
	}
	res.Doc.Record = load.Summarize(rs)
	return res, nil
}

// ScaleResult is the engine's footprint with N joined in-process sessions.
type ScaleResult struct {
	Event          string           `json:"event"`
	Topic          string           `json:"topic"`
	Want           int              `json:"want"`
	Joined         int              `json:"joined"`
	Seconds        float64          `json:"seconds"`
	Before         *sysinfo.Runtime `json:"before,omitempty"`
	After          *sysinfo.Runtime `json:"after,omitempty"`
	HeapPerSession float64          `json:"heap_bytes_per_session,omitempty"`
	Error          string           `json:"error,omitempty"`
}

// Scale opens n sessions joined to topic, reporting progress every step
// sessions through progress.
func Scale(ctx context.Context, ep *phx.Endpoint, topic string, state bool, n, step int, progress func(ScaleResult)) ScaleResult {
	res := ScaleResult{Event: "done", Topic: topic, Want: n}
	before := sysinfo.ReadRuntime(true)
	res.Before = &before
	start := time.Now()
	conns := make([]*Conn, 0, n)
	for i := range n {
		if ctx.Err() != nil {
			res.Error = ctx.Err().Error()
			break
		}
		c, err := Open(ep)
		if err == nil {
			err = c.Join(ctx, topic, state)
		}
		if err != nil {
			res.Error = err.Error()
			break
		}
		conns = append(conns, c)
		res.Joined = i + 1
		if step > 0 && res.Joined%step == 0 && progress != nil {
			progress(ScaleResult{Event: "progress", Topic: topic, Want: n, Joined: res.Joined, Seconds: time.Since(start).Seconds()})
		}
	}
	res.Seconds = time.Since(start).Seconds()
	for _, c := range conns {
		c.pending = nil
	}
	after := sysinfo.ReadRuntime(true)
	res.After = &after
	if res.Joined > 0 {
		res.HeapPerSession = float64(int64(res.After.HeapObjects)-int64(res.Before.HeapObjects)) / float64(res.Joined)
	}
	for _, c := range conns {
		c.Sess.Detach()
	}
	return res
}
