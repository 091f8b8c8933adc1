package presence_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seance-go/seance/internal/sessiontest"
	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/presence"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// room tracks each joiner under its "user" join param with meta
// {"tab": tab} and pushes the presence_state; "update" replaces the meta,
// "untrack" removes it, "crash" panics.
type room struct{ tr *presence.Tracker }

type joinParams struct {
	User string `json:"user"`
	Tab  string `json:"tab"`
}

func (room) Join(_ context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
	var p joinParams
	if err := params.Decode(&p); err != nil {
		return nil, err
	}
	if p.User == "refused" {
		return nil, errors.New("refused")
	}
	ch.Set("p", p)
	return nil, nil
}

func (r room) AfterJoin(_ context.Context, ch *phx.Channel) error {
	p := ch.Value("p").(joinParams)
	if p.User == "" {
		return r.tr.PushState(ch) // a watcher, not tracked
	}
	if _, err := r.tr.Track(ch, p.User, map[string]string{"tab": p.Tab}); err != nil {
		return err
	}
	return r.tr.PushState(ch)
}

func (r room) HandleIn(_ context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
	p := ch.Value("p").(joinParams)
	switch msg.Event {
	case "update":
		var meta map[string]any
		if err := msg.Payload.Decode(&meta); err != nil {
			return nil, err
		}
		ref, err := r.tr.Update(ch, p.User, meta)
		return phx.Ok(map[string]string{"ref": ref}), err
	case "untrack":
		return phx.Ok(nil), r.tr.Untrack(ch, p.User)
	case "crash":
		panic("boom")
	}
	return nil, errors.New("unknown event")
}

func newTracker(t *testing.T, opts presence.Options) (*phx.Endpoint, *presence.Tracker) {
	t.Helper()
	ep := phx.NewEndpoint(phx.Config{Logger: quietLogger()})
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	tr := presence.New(ep, opts)
	ep.Handle("room:*", room{tr})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ep.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := tr.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return ep, tr
}

// client is one connection joined to a room.
type client struct {
	*sessiontest.Client
	topic   string
	joinRef string
}

func join(t *testing.T, ep *phx.Endpoint, topic, user, tab string) *client {
	t.Helper()
	c := &client{Client: sessiontest.Open(t, ep, phx.ConnectInfo{Transport: "test"}, phx.V2JSON(), false), topic: topic, joinRef: "1"}
	params, _ := json.Marshal(joinParams{User: user, Tab: tab})
	c.Send(`["1","1",` + quote(topic) + `,"phx_join",` + string(params) + `]`)
	c.ExpectText(`["1","1",` + quote(topic) + `,"phx_reply",{"status":"ok","response":{}}]`)
	return c
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// wireMeta is a meta as sent.
type wireMeta struct {
	Tab     string `json:"tab"`
	Ref     string `json:"phx_ref"`
	PrevRef string `json:"phx_ref_prev"`
}

type wireList map[string]struct {
	Metas []wireMeta `json:"metas"`
}

// next reads the next push of the client, which must be event, and
// decodes its payload.
func (c *client) next(t *testing.T, event string, v any) {
	t.Helper()
	f := c.NextFrame()
	var msg []json.RawMessage
	if err := json.Unmarshal(f.Data, &msg); err != nil || len(msg) != 5 {
		t.Fatalf("bad frame %s", f.Data)
	}
	var ev string
	json.Unmarshal(msg[3], &ev)
	if ev != event {
		t.Fatalf("got %s, want event %s", f.Data, event)
	}
	if err := json.Unmarshal(msg[4], v); err != nil {
		t.Fatalf("payload of %s: %v", f.Data, err)
	}
}

func (c *client) state(t *testing.T) wireList {
	t.Helper()
	var l wireList
	c.next(t, presence.EventState, &l)
	return l
}

type wireDiff struct {
	Joins  wireList `json:"joins"`
	Leaves wireList `json:"leaves"`
}

func (c *client) diff(t *testing.T) wireDiff {
	t.Helper()
	var d wireDiff
	c.next(t, presence.EventDiff, &d)
	return d
}

// tabs lists the tabs of a key in a list.
func tabs(l wireList, key string) []string {
	var out []string
	for _, m := range l[key].Metas {
		out = append(out, m.Tab)
	}
	return out
}

func TestStateAndDiffs(t *testing.T) {
	ep, tr := newTracker(t, presence.Options{})
	a := join(t, ep, "room:1", "alice", "a1")
	// PushState sends the pending diffs first: the joiner's own join
	// arrives before the state (phoenix.js holds it until the state, as
	// with Phoenix, whose tracker reports a local join at once).
	if d := a.diff(t); !slices.Equal(tabs(d.Joins, "alice"), []string{"a1"}) {
		t.Fatalf("own join %+v", d)
	}
	st := a.state(t)
	if got := tabs(st, "alice"); !slices.Equal(got, []string{"a1"}) || len(st) != 1 {
		t.Fatalf("first state %+v", st)
	}
	ref1 := st["alice"].Metas[0].Ref
	if ref1 == "" {
		t.Fatal("meta without phx_ref")
	}
	// Alice's second tab: one key, two metas.
	a2 := join(t, ep, "room:1", "alice", "a2")
	a2.diff(t)
	st2 := a2.state(t)
	if got := tabs(st2, "alice"); !slices.Equal(got, []string{"a1", "a2"}) {
		t.Fatalf("state of the second tab: %+v", st2)
	}
	d := a.diff(t)
	if got := tabs(d.Joins, "alice"); !slices.Equal(got, []string{"a2"}) || len(d.Leaves) != 0 {
		t.Fatalf("diff of the second tab: %+v", d)
	}
	if d.Joins["alice"].Metas[0].Ref == ref1 {
		t.Fatal("two metas share a phx_ref")
	}

	// Update: old meta leaves, new joins with phx_ref_prev.
	oldRef := d.Joins["alice"].Metas[0].Ref
	a2.Send(`["1","2","room:1","update",{"tab":"a2-typing"}]`)
	a2.NextFrame() // the reply
	d = a.diff(t)
	if got := tabs(d.Joins, "alice"); !slices.Equal(got, []string{"a2-typing"}) {
		t.Fatalf("update joins: %+v", d)
	}
	if got := d.Joins["alice"].Metas[0].PrevRef; got != oldRef {
		t.Fatalf("phx_ref_prev = %q, want %q", got, oldRef)
	}
	if got := tabs(d.Leaves, "alice"); !slices.Equal(got, []string{"a2"}) || d.Leaves["alice"].Metas[0].Ref != oldRef {
		t.Fatalf("update leaves: %+v", d)
	}

	// The list from anywhere.
	l := tr.List("room:1")
	if len(l) != 1 || len(l["alice"].Metas) != 2 {
		t.Fatalf("List: %+v", l)
	}
	raw, _ := json.Marshal(l)
	var wl wireList
	if err := json.Unmarshal(raw, &wl); err != nil || !slices.Equal(tabs(wl, "alice"), []string{"a1", "a2-typing"}) {
		t.Fatalf("List as JSON: %s", raw)
	}
}

func TestLeavesWhenTheChannelEnds(t *testing.T) {
	ep, tr := newTracker(t, presence.Options{})
	w := join(t, ep, "room:1", "", "")
	w.state(t)
	ends := map[string]func(c *client){
		"leave": func(c *client) {
			c.Send(`["1","9","room:1","phx_leave",{}]`)
		},
		"disconnect": func(c *client) { c.Sess.Close(phx.ErrDisconnected) },
		"crash": func(c *client) {
			c.Send(`["1","9","room:1","crash",{}]`)
		},
		"slow consumer": func(c *client) { c.Sess.Close(phx.ErrSlowConsumer) },
		"untrack": func(c *client) {
			c.Send(`["1","9","room:1","untrack",{}]`)
		},
		"duplicate join": func(c *client) {
			params, _ := json.Marshal(joinParams{})
			c.Send(`["2","2","room:1","phx_join",` + string(params) + `]`)
		},
	}
	for _, name := range []string{"leave", "disconnect", "crash", "slow consumer", "untrack", "duplicate join"} {
		c := join(t, ep, "room:1", name, "t")
		if d := w.diff(t); len(d.Joins[name].Metas) != 1 {
			t.Fatalf("%s: join diff %+v", name, d)
		}
		if st := tr.Stats(); st != (presence.Stats{Topics: 1, Metas: 1, Local: 1}) {
			t.Fatalf("%s: Stats %+v while tracked", name, st)
		}
		ends[name](c)
		d := w.diff(t)
		if len(d.Leaves[name].Metas) != 1 || len(d.Joins) != 0 {
			t.Fatalf("%s: leave diff %+v", name, d)
		}
		if tr.Get("room:1", name) != nil {
			t.Fatalf("%s: still listed", name)
		}
		if st := tr.Stats(); st != (presence.Stats{}) {
			t.Fatalf("%s: Stats %+v after the leave", name, st)
		}
	}
}

func TestShutdownUntracks(t *testing.T) {
	ep, tr := newTracker(t, presence.Options{})
	c := join(t, ep, "room:1", "alice", "a")
	c.diff(t)
	c.state(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ep.Shutdown(ctx) }()
	waitFor(t, "the entry to leave on Shutdown", func() bool { return tr.Count("room:1") == 0 })
	c.Sess.Detach() // the transport lets go: Shutdown can return
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds, failing after sessiontest.Timeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(sessiontest.Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestJoinRefusedUntracks(t *testing.T) {
	ep, tr := newTracker(t, presence.Options{})
	ep.Handle("refuse:*", phx.HandlerFuncs{JoinFunc: func(_ context.Context, ch *phx.Channel, _ phx.Payload) (any, error) {
		if _, err := tr.Track(ch, "bob", nil); err != nil {
			return nil, err
		}
		return nil, errors.New("no")
	}})
	c := sessiontest.Open(t, ep, phx.ConnectInfo{}, phx.V2JSON(), false)
	c.Send(`["1","1","refuse:1","phx_join",{}]`)
	c.ExpectText(`["1","1","refuse:1","phx_reply",{"status":"error","response":{"reason":"no"}}]`)
	if n := tr.Count("refuse:1"); n != 0 {
		t.Fatalf("a refused join is still listed (%d)", n)
	}
}

func TestTrackErrors(t *testing.T) {
	ep, tr := newTracker(t, presence.Options{})
	errs := make(chan error, 8)
	ep.Handle("errs:*", phx.HandlerFuncs{JoinFunc: func(_ context.Context, ch *phx.Channel, _ phx.Payload) (any, error) {
		_, err := tr.Track(ch, "k", nil)
		errs <- err
		_, err = tr.Track(ch, "k", nil)
		errs <- err
		_, err = tr.Track(ch, "j", []int{1})
		errs <- err
		_, err = tr.Update(ch, "nope", nil)
		errs <- err
		errs <- tr.Untrack(ch, "nope")
		_, err = tr.Track(ch, "big", map[string]string{"x": strings.Repeat("x", 17<<10)})
		errs <- err
		return nil, nil
	}})
	c := sessiontest.Open(t, ep, phx.ConnectInfo{}, phx.V2JSON(), false)
	c.Send(`["1","1","errs:1","phx_join",{}]`)
	for i, want := range []error{nil, presence.ErrAlreadyTracked, presence.ErrMetaNotObject, presence.ErrNotTracked, presence.ErrNotTracked, presence.ErrMetaTooLarge} {
		if got := <-errs; !errors.Is(got, want) {
			t.Errorf("call %d: %v, want %v", i, got, want)
		}
	}
}

func TestBatchAndFetchOncePerDiff(t *testing.T) {
	var fetches atomic.Int64
	ep, tr := newTracker(t, presence.Options{
		Interval: 300 * time.Millisecond,
		Fetch: func(_ context.Context, _ string, l presence.List) error {
			fetches.Add(1)
			for k, p := range l {
				p.Extra = map[string]any{"name": "User " + k}
			}
			return nil
		},
	})
	var watchers []*client
	for range 3 {
		w := join(t, ep, "room:1", "", "")
		w.state(t)
		watchers = append(watchers, w)
	}
	base := fetches.Load()
	// Three tracks within one interval: one diff, one fetch of its joins.
	chans := make(chan *phx.Channel, 3)
	ep.Handle("other:*", phx.HandlerFuncs{JoinFunc: func(_ context.Context, ch *phx.Channel, _ phx.Payload) (any, error) {
		chans <- ch
		return nil, nil
	}})
	for _, user := range []string{"u1", "u2", "u3"} {
		c := sessiontest.Open(t, ep, phx.ConnectInfo{}, phx.V2JSON(), false)
		c.Send(`["1","1","other:x","phx_join",{}]`)
		c.NextFrame()
		if _, err := tr.TrackTopic(<-chans, "room:1", user, map[string]string{"tab": user}); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range watchers {
		var d struct {
			Joins map[string]struct {
				Metas []wireMeta `json:"metas"`
				Name  string     `json:"name"`
			} `json:"joins"`
		}
		w.next(t, presence.EventDiff, &d)
		if len(d.Joins) != 3 || d.Joins["u2"].Name != "User u2" {
			t.Fatalf("one diff with three fetched joins expected: %+v", d)
		}
	}
	if n := fetches.Load() - base; n != 1 {
		t.Fatalf("Fetch ran %d times for one diff to 3 subscribers, want 1", n)
	}
}
