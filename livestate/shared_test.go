package livestate_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/livestate/livestatetest"
	"github.com/seance-go/seance/phx"
)

// Board is the shared state of the tests.
type Board struct {
	Name  string   `json:"name"`
	Items []Todo   `json:"items"`
	Count int      `json:"count"`
	Log   []string `json:"log,omitempty"`
}

// board is the shared channel: one value for every topic and client.
type board struct {
	inits    atomic.Int32
	messages atomic.Int32
	failInit atomic.Bool
	closed   chan Board    // CloseTopic's states
	left     chan error    // Closed's reasons
	release  chan struct{} // when set, CloseTopic signals started and waits for it
	started  chan struct{}
	events   chan string // "init" and "closed" in order
}

// boardName makes the state larger than its patches (with CompactWire a
// patch not smaller than the state is sent as the state).
const boardName = "the board of the shared channel tests"

func newBoard() *board {
	return &board{closed: make(chan Board, 16), left: make(chan error, 64), events: make(chan string, 64), started: make(chan struct{}, 1)}
}

func (b *board) Authorize(ctx context.Context, s *livestate.Socket, params phx.Payload) error {
	var p struct{ Deny bool }
	params.Decode(&p)
	if p.Deny {
		return errors.New("not on this board")
	}
	return nil
}

func (b *board) Init(ctx context.Context, topic string) (Board, error) {
	b.events <- "init"
	if b.failInit.Load() {
		return Board{}, errors.New("board unavailable")
	}
	b.inits.Add(1)
	return Board{Name: boardName, Items: []Todo{}}, nil
}

func (b *board) HandleEvent(ctx context.Context, s *livestate.Socket, event string, payload phx.Payload, st *Board) error {
	var p struct{ Title string }
	payload.Decode(&p)
	switch event {
	case "inc":
		st.Count++
	case "add":
		st.Items = append(st.Items, Todo{ID: len(st.Items) + 1, Title: p.Title})
	case "emit":
		s.Emit("only_you", map[string]string{"topic": s.Topic()})
		st.Count++
	case "fail":
		st.Count += 100
		return errors.New("half done")
	case "reply":
		s.Reply(map[string]int{"count": st.Count})
	case "send":
		return s.Send("x")
	case "panic":
		st.Count += 1000
		panic("board exploded")
	case "noop":
	default:
		return fmt.Errorf("unknown event %q", event)
	}
	return nil
}

func (b *board) HandleMessage(ctx context.Context, t *livestate.Topic, msg *phx.Broadcast, st *Board) error {
	b.messages.Add(1)
	st.Log = append(st.Log, msg.Event)
	t.Emit("notice", map[string]any{"event": msg.Event, "members": t.Members()})
	if msg.Event == "bad" {
		return errors.New("bad news")
	}
	if msg.Event == "explode" {
		st.Count += 5000
		panic("broadcast exploded")
	}
	return nil
}

func (b *board) Closed(ctx context.Context, s *livestate.Socket, reason error) { b.left <- reason }

func (b *board) CloseTopic(ctx context.Context, topic string, st Board) {
	if b.release != nil {
		b.started <- struct{}{}
		<-b.release
	}
	b.events <- "closed"
	b.closed <- st
}

func setupShared(t *testing.T, opts livestate.Options) (*livestate.Registry, *board) {
	t.Helper()
	reg := newRegistry(t)
	b := newBoard()
	reg.Handle("board:*", livestate.NewShared[Board](b, opts))
	return reg, b
}

// joinShared joins topic and returns the client's mirror of the shared
// state (received at the topic's current version).
func joinShared(t *testing.T, reg *livestate.Registry, topic string) (*client, *mirror) {
	t.Helper()
	c := open(t, reg)
	c.send(`["1","1","` + topic + `","phx_join",{}]`)
	c.expect(`["1","1","` + topic + `","phx_reply",{"status":"ok","response":{}}]`)
	m := &mirror{t: t}
	m.change(c.expectEvent(topic, "state:change"))
	return c, m
}

// updateFrame reads the next frame, a state update, applies it and returns
// the raw frame.
func updateFrame(t *testing.T, c *client, m *mirror, topic string) phx.Frame {
	t.Helper()
	f := c.nextFrame()
	c.Unread(f)
	c.update(m, topic, lvsNames)
	return f
}

func boardOf(t *testing.T, m *mirror) Board {
	t.Helper()
	b, _ := json.Marshal(m.state)
	var st Board
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestSharedJoiners: two, then three clients share one state; every update
// is one frame whose bytes are the same slice for all; a late joiner gets
// the state at the current version.
func TestSharedJoiners(t *testing.T) {
	reg, b := setupShared(t, livestate.Options{})
	c1, m1 := joinShared(t, reg, "board:1")
	c2, m2 := joinShared(t, reg, "board:1")
	if m1.version != 0 || m2.version != 0 {
		t.Fatalf("versions %d %d", m1.version, m2.version)
	}
	c1.push("board:1", "lvs_evt:inc", `{}`)
	f1 := updateFrame(t, c1, m1, "board:1")
	f2 := updateFrame(t, c2, m2, "board:1")
	if unsafe.SliceData(f1.Data) != unsafe.SliceData(f2.Data) {
		t.Error("the update was encoded for each client")
	}
	if string(f1.Data) != `[null,null,"board:1","state:patch",{"patch":[{"op":"replace","path":"/count","value":1}],"version":1}]` {
		t.Errorf("update frame %s", f1.Data)
	}

	c3, m3 := joinShared(t, reg, "board:1")
	if m3.version != 1 || boardOf(t, m3).Count != 1 {
		t.Errorf("late joiner: version %d state %v", m3.version, m3.state)
	}
	c2.push("board:1", "lvs_evt:add", `{"title":"from two"}`)
	var frames []phx.Frame
	for _, cm := range []struct {
		c *client
		m *mirror
	}{{c1, m1}, {c2, m2}, {c3, m3}} {
		frames = append(frames, updateFrame(t, cm.c, cm.m, "board:1"))
		if cm.m.version != 2 {
			t.Errorf("version %d, want 2", cm.m.version)
		}
	}
	for _, f := range frames[1:] {
		if unsafe.SliceData(f.Data) != unsafe.SliceData(frames[0].Data) {
			t.Error("the update was encoded for each client")
		}
	}
	want := Board{Name: boardName, Items: []Todo{{ID: 1, Title: "from two"}}, Count: 1}
	for i, m := range []*mirror{m1, m2, m3} {
		if d := cmp.Diff(want, boardOf(t, m)); d != "" {
			t.Errorf("client %d (-want +got)\n%s", i+1, d)
		}
	}
	for _, c := range []*client{c1, c2, c3} {
		c.expectNothing()
	}
	if n := b.inits.Load(); n != 1 {
		t.Errorf("Init ran %d times", n)
	}
}

// TestSharedSenderOnly: emitted events, errors and replies go to the
// client that sent the event; the update goes to all.
func TestSharedSenderOnly(t *testing.T) {
	reg, _ := setupShared(t, livestate.Options{})
	c1, m1 := joinShared(t, reg, "board:1")
	c2, m2 := joinShared(t, reg, "board:1")

	c1.push("board:1", "lvs_evt:emit", `{}`)
	c1.expect(`["1",null,"board:1","only_you",{"topic":"board:1"}]`)
	c1.update(m1, "board:1", lvsNames)
	c2.update(m2, "board:1", lvsNames)

	ref := c2.push("board:1", "lvs_evt:fail", `{}`)
	c2.expect(`["1",null,"board:1","error",{"message":"half done"}]`)
	c2.update(m2, "board:1", lvsNames)
	c2.expect(`["1","` + ref + `","board:1","phx_reply",{"status":"error","response":{"reason":"half done"}}]`)
	c1.update(m1, "board:1", lvsNames)

	ref = c1.push("board:1", "lvs_evt:reply", `{}`)
	c1.update(m1, "board:1", lvsNames) // an empty patch, as live_state
	c2.update(m2, "board:1", lvsNames)
	c1.expect(`["1","` + ref + `","board:1","phx_reply",{"status":"ok","response":{"count":101}}]`)

	c1.push("board:1", "lvs_evt:send", `{}`)
	c1.expectEvent("board:1", "error") // Send is not available to shared channels
	c1.next()                          // its error reply; no update, the failed event changed nothing

	ref = c2.push("board:1", "other", `{}`)
	c2.expect(`["1","` + ref + `","board:1","phx_reply",{"status":"error","response":{"reason":"unknown event other"}}]`)
	for _, c := range []*client{c1, c2} {
		c.expectNothing()
	}
	if boardOf(t, m1).Count != 101 || m1.version != 3 || m2.version != 3 {
		t.Errorf("count %d versions %d %d", boardOf(t, m1).Count, m1.version, m2.version)
	}
}

func TestSharedRefreshAndWrap(t *testing.T) {
	reg, _ := setupShared(t, livestate.Options{MaxVersion: 3})
	c1, m1 := joinShared(t, reg, "board:1")
	c2, m2 := joinShared(t, reg, "board:1")
	var versions []int
	for i := 0; i < 5; i++ {
		c1.push("board:1", "lvs_evt:inc", `{}`)
		c1.update(m1, "board:1", lvsNames)
		c2.update(m2, "board:1", lvsNames)
		if m1.version != m2.version {
			t.Fatalf("versions %d and %d", m1.version, m2.version)
		}
		versions = append(versions, m1.version)
	}
	if d := cmp.Diff([]int{1, 2, 3, 0, 1}, versions); d != "" {
		t.Errorf("versions (-want +got)\n%s", d)
	}
	// refresh: the current state and version, to the asking client only
	c2.push("board:1", "lvs_refresh", `{}`)
	p := c2.expectEvent("board:1", "state:change")
	if p["version"] != 1.0 || boardOf(t, &mirror{state: p["state"]}).Count != 5 {
		t.Errorf("refresh %v", p)
	}
	c1.expectNothing()
	c2.expectNothing()
	// a late joiner after the wrap
	_, m3 := joinShared(t, reg, "board:1")
	if m3.version != 1 {
		t.Errorf("late joiner version %d", m3.version)
	}
	// nothing changed: an empty patch with the next version, to everyone
	c1.push("board:1", "lvs_evt:noop", `{}`)
	for _, c := range []*client{c1, c2} {
		if v := c.expectEmptyPatch("board:1"); v != 2 {
			t.Errorf("no-op update version %d, want 2", v)
		}
		c.expectNothing()
	}
}

// TestSharedCompactWire: with CompactWire a no-op sends nothing and keeps
// the version (the syncer's other saving is tested in TestLargePatch).
func TestSharedCompactWire(t *testing.T) {
	reg, _ := setupShared(t, livestate.Options{CompactWire: true})
	c1, m1 := joinShared(t, reg, "board:1")
	c2, m2 := joinShared(t, reg, "board:1")
	c1.push("board:1", "lvs_evt:noop", `{}`)
	c1.expectNothing()
	c2.expectNothing()
	c1.push("board:1", "lvs_evt:inc", `{}`)
	c1.update(m1, "board:1", lvsNames)
	c2.update(m2, "board:1", lvsNames)
	for i, m := range []*mirror{m1, m2} {
		if m.version != 1 || boardOf(t, m).Count != 1 {
			t.Errorf("client %d: version %d count %d, want 1 and 1", i+1, m.version, boardOf(t, m).Count)
		}
	}
}

// TestSharedLeaveRejoin: the state outlives its first clients while one is
// joined; the last leave drops it (CloseTopic gets it) and the next join
// starts anew.
func TestSharedLeaveRejoin(t *testing.T) {
	reg, b := setupShared(t, livestate.Options{})
	c1, m1 := joinShared(t, reg, "board:1")
	c2, m2 := joinShared(t, reg, "board:1")
	c1.push("board:1", "lvs_evt:inc", `{}`)
	c1.update(m1, "board:1", lvsNames)
	c2.update(m2, "board:1", lvsNames)

	c1.send(`["1","9","board:1","phx_leave",{}]`)
	c1.expect(`["1","9","board:1","phx_reply",{"status":"ok","response":{}}]`, `["1","1","board:1","phx_close",{}]`)
	if err := recv(t, b.left); !errors.Is(err, phx.ErrLeft) {
		t.Errorf("Closed reason %v", err)
	}
	c2.push("board:1", "lvs_evt:inc", `{}`)
	c2.update(m2, "board:1", lvsNames)
	c1.expectNothing() // left: no more updates

	// rejoin on the same connection: the current state and version
	c1.send(`["2","2","board:1","phx_join",{}]`)
	c1.expect(`["2","2","board:1","phx_reply",{"status":"ok","response":{}}]`)
	m1 = &mirror{t: t}
	m1.change(c1.expectEvent("board:1", "state:change"))
	if m1.version != 2 || boardOf(t, m1).Count != 2 {
		t.Errorf("rejoin: version %d state %v", m1.version, m1.state)
	}
	c2.push("board:1", "lvs_evt:inc", `{}`)
	c2.update(m2, "board:1", lvsNames)
	c1.update(m1, "board:1", lvsNames)

	// everyone leaves: CloseTopic receives the final state
	c1.Sess.Detach()
	c2.Sess.Detach()
	if st := recv(t, b.closed); st.Count != 3 {
		t.Errorf("CloseTopic state %+v", st)
	}
	// a new join: Init again, version 0
	_, m4 := joinShared(t, reg, "board:1")
	if m4.version != 0 || boardOf(t, m4).Count != 0 || b.inits.Load() != 2 {
		t.Errorf("after the drop: version %d state %v inits %d", m4.version, m4.state, b.inits.Load())
	}
}

// TestSharedInitWaitsForCloseTopic: a join while the previous state is
// being saved runs Init only after CloseTopic returned.
func TestSharedInitWaitsForCloseTopic(t *testing.T) {
	reg, b := setupShared(t, livestate.Options{})
	b.release = make(chan struct{})
	c1, _ := joinShared(t, reg, "board:1")
	if ev := recv(t, b.events); ev != "init" {
		t.Fatalf("event %s", ev)
	}
	c1.Sess.Detach()
	recv(t, b.started) // the state is being saved
	c2 := open(t, reg)
	c2.send(`["1","1","board:1","phx_join",{}]`)
	c2.expect(`["1","1","board:1","phx_reply",{"status":"ok","response":{}}]`)
	close(b.release)
	c2.expectEvent("board:1", "state:change")
	got := []string{recv(t, b.events), recv(t, b.events)}
	if d := cmp.Diff([]string{"closed", "init"}, got); d != "" {
		t.Errorf("order (-want +got)\n%s", d)
	}
}

func TestSharedInitErrorAndAuthorizer(t *testing.T) {
	reg, b := setupShared(t, livestate.Options{})
	b.failInit.Store(true)
	c1 := open(t, reg)
	c1.send(`["1","1","board:1","phx_join",{}]`)
	c1.expect(
		`["1","1","board:1","phx_reply",{"status":"ok","response":{}}]`,
		`["1",null,"board:1","error",{"message":"board unavailable"}]`,
	)
	ref := c1.push("board:1", "lvs_evt:inc", `{}`)
	c1.expect(`["1","` + ref + `","board:1","phx_reply",{"status":"error","response":{"reason":"no state"}}]`)
	ref = c1.push("board:1", "lvs_refresh", `{}`)
	c1.expect(
		`["1",null,"board:1","error",{"message":"board unavailable"}]`,
		`["1","`+ref+`","board:1","phx_reply",{"status":"error","response":{"reason":"no state"}}]`,
	)

	// refused joins do not touch the topic
	c3 := open(t, reg)
	c3.send(`["1","1","board:1","phx_join",{"deny":true}]`)
	c3.expect(`["1","1","board:1","phx_reply",{"status":"error","response":{"reason":"not on this board"}}]`)

	// Init succeeds for the next joiner: the first client gets the state too
	b.failInit.Store(false)
	_, m2 := joinShared(t, reg, "board:1")
	m1 := &mirror{t: t}
	m1.change(c1.expectEvent("board:1", "state:change"))
	if m1.version != 0 || m2.version != 0 {
		t.Errorf("versions %d %d", m1.version, m2.version)
	}
	c1.push("board:1", "lvs_evt:inc", `{}`)
	c1.update(m1, "board:1", lvsNames)
	if boardOf(t, m1).Count != 1 {
		t.Errorf("state %v", m1.state)
	}
}

// TestSharedBroadcast: a broadcast on the topic runs HandleMessage once,
// whatever the number of clients, and its effects reach all of them.
func TestSharedBroadcast(t *testing.T) {
	reg, b := setupShared(t, livestate.Options{})
	var cs []*client
	var ms []*mirror
	for i := 0; i < 3; i++ {
		c, m := joinShared(t, reg, "board:1")
		cs, ms = append(cs, c), append(ms, m)
	}
	const n = 20
	for i := 0; i < n; i++ {
		if got, err := reg.Broadcast(context.Background(), "board:1", "news"+strconv.Itoa(i), map[string]int{"i": i}); err != nil || got != 3 {
			t.Fatalf("Broadcast = %d, %v", got, err)
		}
	}
	for i, c := range cs {
		for j := 0; j < n; j++ {
			c.expect(`[null,null,"board:1","notice",{"event":"news` + strconv.Itoa(j) + `","members":3}]`)
			c.update(ms[i], "board:1", lvsNames)
			if ms[i].version != j+1 {
				t.Fatalf("client %d: version %d after broadcast %d", i, ms[i].version, j)
			}
		}
		c.expectNothing()
	}
	if got := b.messages.Load(); got != n {
		t.Errorf("HandleMessage ran %d times for %d broadcasts", got, n)
	}
	var want []string
	for j := 0; j < n; j++ {
		want = append(want, "news"+strconv.Itoa(j))
	}
	if d := cmp.Diff(want, boardOf(t, ms[2]).Log); d != "" {
		t.Errorf("log (-want +got)\n%s", d)
	}
	// an error from HandleMessage reaches every client
	reg.Broadcast(context.Background(), "board:1", "bad", nil)
	for i, c := range cs {
		c.expect(`[null,null,"board:1","notice",{"event":"bad","members":3}]`, `[null,null,"board:1","error",{"message":"bad news"}]`)
		c.update(ms[i], "board:1", lvsNames)
	}
	if got := b.messages.Load(); got != n+1 {
		t.Errorf("HandleMessage ran %d times for %d broadcasts", got, n+1)
	}
}

// TestSharedConcurrentEvents: clients send events at the same time; every
// client sees every change once, in one order, with consecutive versions.
func TestSharedConcurrentEvents(t *testing.T) {
	reg, _ := setupShared(t, livestate.Options{MaxVersion: 1 << 30})
	const clients, events = 5, 40
	var cs []*client
	var ms []*mirror
	for i := 0; i < clients; i++ {
		c, m := joinShared(t, reg, "board:1")
		cs, ms = append(cs, c), append(ms, m)
	}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < events; j++ {
				ev := "inc"
				if j%4 == 0 {
					ev = "add"
				}
				frame := fmt.Sprintf(`["1","%d","board:1","lvs_evt:%s",{"title":"c%d-%d"}]`, 100+j, ev, i, j)
				if err := c.Sess.Receive([]byte(frame), false); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var final []Board
	for i, c := range cs {
		for v := 1; v <= clients*events; v++ {
			c.update(ms[i], "board:1", lvsNames)
			if ms[i].version != v {
				t.Fatalf("client %d: version %d, want %d", i, ms[i].version, v)
			}
		}
		c.expectNothing()
		final = append(final, boardOf(t, ms[i]))
	}
	if got := final[0].Count + len(final[0].Items); got != clients*events {
		t.Errorf("%d changes applied, want %d", got, clients*events)
	}
	for i := range final[1:] {
		if d := cmp.Diff(final[0], final[i+1]); d != "" {
			t.Errorf("client %d differs (-0 +%d)\n%s", i+1, i+1, d)
		}
	}
}

// TestSharedCrash: a panicking event crashes its client's channel only,
// and the change it made before panicking is rolled back: the other
// clients receive nothing, and state and version are as before.
func TestSharedCrash(t *testing.T) {
	reg, b := setupShared(t, livestate.Options{})
	c1, m1 := joinShared(t, reg, "board:1")
	c2, m2 := joinShared(t, reg, "board:1")
	c1.push("board:1", "lvs_evt:add", `{"title":"before"}`)
	c1.update(m1, "board:1", lvsNames)
	c2.update(m2, "board:1", lvsNames)

	c1.push("board:1", "lvs_evt:panic", `{}`) // adds 1000 to the count, then panics
	c1.expect(`["1","1","board:1","phx_error",{"reason":"channel_crash"}]`)
	if err := recv(t, b.left); !errors.Is(err, phx.ErrCrashed) {
		t.Errorf("Closed reason %v", err)
	}
	c2.expectNothing()
	c2.push("board:1", "lvs_refresh", `{}`)
	p := c2.expectEvent("board:1", "state:change")
	want := Board{Name: boardName, Items: []Todo{{ID: 1, Title: "before"}}}
	if d := cmp.Diff(want, boardOf(t, &mirror{state: p["state"]})); d != "" || p["version"] != 1.0 {
		t.Errorf("after the panic: version %v, state (-want +got)\n%s", p["version"], d)
	}
	c2.push("board:1", "lvs_evt:inc", `{}`)
	c2.update(m2, "board:1", lvsNames)
	if got := boardOf(t, m2); got.Count != 1 || m2.version != 2 {
		t.Errorf("count %d version %d, want 1 and 2", got.Count, m2.version)
	}
	c2.expectNothing()
}

// TestSharedMessageCrash: a HandleMessage that panics crashes no client
// (it runs for the topic, not for one of them): the panic is logged and the
// topic's state is rolled back, so the clients receive nothing of the
// half-made change.
func TestSharedMessageCrash(t *testing.T) {
	reg, _ := setupShared(t, livestate.Options{})
	c1, m1 := joinShared(t, reg, "board:1")
	c2, m2 := joinShared(t, reg, "board:1")
	c1.push("board:1", "lvs_evt:inc", `{}`)
	c1.update(m1, "board:1", lvsNames)
	c2.update(m2, "board:1", lvsNames)
	want := boardOf(t, m1)

	if _, err := reg.Broadcast(context.Background(), "board:1", "explode", map[string]string{}); err != nil {
		t.Fatal(err)
	}
	for i, c := range []*client{c1, c2} {
		c.push("board:1", "lvs_refresh", `{}`)
		p := c.expectEvent("board:1", "state:change")
		if d := cmp.Diff(want, boardOf(t, &mirror{state: p["state"]})); d != "" || p["version"] != 1.0 {
			t.Errorf("client %d after the panic: version %v, state (-want +got)\n%s", i, p["version"], d)
		}
	}
	// The next change carries nothing of the half-made one.
	c2.push("board:1", "lvs_evt:inc", `{}`)
	want.Count++
	for i, c := range []*client{c1, c2} {
		m := []*mirror{m1, m2}[i]
		c.update(m, "board:1", lvsNames)
		if d := cmp.Diff(want, boardOf(t, m)); d != "" || m.version != 2 {
			t.Errorf("client %d next update: version %d, state (-want +got)\n%s", i, m.version, d)
		}
	}
}

// TestSharedDocCrash: a shared Doc is rolled back by undoing the edits of
// the handler that panicked, whatever they were.
func TestSharedDocCrash(t *testing.T) {
	reg := newRegistry(t)
	reg.Handle("doc:*", livestate.NewShared[*livestate.Doc](docShared{}, livestate.Options{}))
	a := livestatetest.Join(t, reg, "doc:1", livestatetest.Options{})
	a.AssertStateChange(`{"items":[],"title":"a shared document with a title long enough for patches"}`)
	b := livestatetest.Join(t, reg, "doc:1", livestatetest.Options{})
	b.AssertStateChange(`{"items":[],"title":"a shared document with a title long enough for patches"}`)
	for _, text := range []string{"one", "two", "three"} {
		a.SendEvent("add", map[string]string{"text": text})
		for _, c := range []*livestatetest.Client{a, b} {
			c.AssertStatePatch(`[{"op":"add","path":"/items/-","value":{"text":"` + text + `"}}]`)
		}
	}
	before := b.State()
	for _, ev := range []string{"mess_then_panic", "replace_then_panic"} {
		c := livestatetest.Join(t, reg, "doc:1", livestatetest.Options{})
		c.AssertStateChange(before)
		c.SendEvent(ev, nil)
		c.AssertEvent("phx_error", map[string]string{"reason": "channel_crash"})
	}
	b.AssertNoMessage()
	b.Refresh()
	b.AssertStateChange(before)
	if b.Version() != 3 {
		t.Errorf("version %d, want 3", b.Version())
	}
	a.SendEvent("own", map[string]string{"text": "ann"})
	for _, c := range []*livestatetest.Client{a, b} {
		c.AssertStatePatch(`[{"op":"add","path":"/owner","value":"ann"}]`)
	}
	if d := cmp.Diff(a.State(), b.State()); d != "" || b.Version() != 4 {
		t.Errorf("version %d, (-a +b)\n%s", b.Version(), d)
	}
}

// TestSharedDoc: a shared channel over a Doc sends the recorded patches.
func TestSharedDoc(t *testing.T) {
	reg := newRegistry(t)
	reg.Handle("doc:*", livestate.NewShared[*livestate.Doc](docShared{}, livestate.Options{}))
	a := livestatetest.Join(t, reg, "doc:1", livestatetest.Options{})
	a.AssertStateChange(`{"items":[],"title":"a shared document with a title long enough for patches"}`)
	b := livestatetest.Join(t, reg, "doc:1", livestatetest.Options{})
	b.AssertStateChange(`{"items":[],"title":"a shared document with a title long enough for patches"}`)
	a.SendEvent("add", map[string]string{"text": "x/y"})
	for _, c := range []*livestatetest.Client{a, b} {
		c.AssertStatePatch(`[{"op":"add","path":"/items/-","value":{"text":"x/y"}}]`)
	}
	b.SendEvent("own", map[string]string{"text": "bob"})
	for _, c := range []*livestatetest.Client{a, b} {
		c.AssertStatePatch(`[{"op":"add","path":"/owner","value":"bob"}]`)
	}
	late := livestatetest.Join(t, reg, "doc:1", livestatetest.Options{})
	late.AssertStateChange(`{"items":[{"text":"x/y"}],"owner":"bob","title":"a shared document with a title long enough for patches"}`)
	if late.Version() != 2 || a.Version() != 2 {
		t.Errorf("versions %d %d", late.Version(), a.Version())
	}
	a.SendEvent("reset", nil) // replaces the Doc: a patch replacing the whole state
	for _, c := range []*livestatetest.Client{a, b, late} {
		c.AssertStatePatch(`[{"op":"replace","path":"","value":{"fresh":true}}]`)
	}
	if d := cmp.Diff(a.State(), late.State()); d != "" {
		t.Errorf("(-a +late)\n%s", d)
	}
	// without a SharedMessageHandler broadcasts go to the clients as is
	if n, err := reg.Broadcast(context.Background(), "doc:1", "toast", map[string]string{"text": "hi"}); err != nil || n != 3 {
		t.Fatalf("Broadcast = %d, %v", n, err)
	}
	for _, c := range []*livestatetest.Client{a, b, late} {
		c.AssertEvent("toast", `{"text":"hi"}`)
		c.AssertNoMessage()
	}
}

type docShared struct{}

func (docShared) Init(ctx context.Context, topic string) (*livestate.Doc, error) {
	return livestate.NewDoc(map[string]any{"title": "a shared document with a title long enough for patches", "items": []any{}})
}

func (docShared) HandleEvent(ctx context.Context, s *livestate.Socket, event string, payload phx.Payload, d **livestate.Doc) error {
	var p struct{ Text string }
	payload.Decode(&p)
	switch event {
	case "add":
		return (*d).Insert("/items/-", map[string]string{"text": p.Text})
	case "own":
		return (*d).Set("/owner", p.Text)
	case "reset":
		nd, err := livestate.NewDoc(map[string]bool{"fresh": true})
		*d = nd
		return err
	case "mess_then_panic": // every kind of edit, then a panic
		(*d).Set("/title", "changed")
		(*d).Set("/owner", "new member")
		(*d).Insert("/items/0", "inserted")
		(*d).Set("/items/-", "appended")
		(*d).Set("/items/2", "replaced")
		(*d).Remove("/items/3")
		(*d).Set("/items/1/text", "edited")
		(*d).Remove("/items")
		(*d).Set("", map[string]int{"root": 1})
		(*d).Set("/more", "after the root")
		panic("doc exploded")
	case "replace_then_panic":
		nd, _ := livestate.NewDoc(map[string]bool{"other": true})
		*d = nd
		panic("doc exploded")
	}
	return fmt.Errorf("unknown event %q", event)
}

// recv waits for a value from ch (failing after waitTimeout).
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatal("nothing received")
		var zero T
		return zero
	}
}
