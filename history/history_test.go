package history_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seance-go/seance/history"
	"github.com/seance-go/seance/internal/sessiontest"
	"github.com/seance-go/seance/phx"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type env struct {
	ep   *phx.Endpoint
	hist *history.History
}

func setup(t *testing.T, opts history.Options) *env {
	t.Helper()
	return setupOn(t, phx.NewEndpoint(phx.Config{}), opts)
}

// setupOn is setup on the endpoint ep.
func setupOn(t *testing.T, ep *phx.Endpoint, opts history.Options) *env {
	t.Helper()
	e := &env{ep: ep, hist: history.New(opts)}
	e.ep.Handle("room:*", e.hist.Handler(phx.HandlerFuncs{}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.ep.Shutdown(ctx)
	})
	return e
}

func (e *env) open(t *testing.T) *sessiontest.Client {
	return sessiontest.Open(t, e.ep, phx.ConnectInfo{Transport: "test"}, phx.V2JSON(), true)
}

func (e *env) publish(t *testing.T, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		if _, err := e.hist.Broadcast(context.Background(), "room:1", "msg", map[string]int{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
}

type frame struct {
	joinRef, ref *string
	event        string
	payload      json.RawMessage
}

func next(t *testing.T, c *sessiontest.Client) frame {
	t.Helper()
	var a [5]json.RawMessage
	if err := json.Unmarshal(c.NextFrame().Data, &a); err != nil {
		t.Fatal(err)
	}
	var f frame
	json.Unmarshal(a[0], &f.joinRef)
	json.Unmarshal(a[1], &f.ref)
	json.Unmarshal(a[3], &f.event)
	f.payload = a[4]
	return f
}

type posPayload struct {
	Epoch     string `json:"epoch"`
	Offset    uint64 `json:"offset"`
	Recovered *bool  `json:"recovered"`
}

// join joins room:1 with params and returns the position event's payload.
func join(t *testing.T, c *sessiontest.Client, joinRef, params string) posPayload {
	t.Helper()
	c.Send(`["` + joinRef + `","` + joinRef + `","room:1","phx_join",` + params + `]`)
	if f := next(t, c); f.event != "phx_reply" {
		t.Fatalf("got %s, want the join reply", f.event)
	}
	f := next(t, c)
	if f.event != history.PositionEvent {
		t.Fatalf("got %s %s, want %s", f.event, f.payload, history.PositionEvent)
	}
	var p posPayload
	json.Unmarshal(f.payload, &p)
	return p
}

// expectMsgs reads messages n = from…to with their positions as refs.
func expectMsgs(t *testing.T, c *sessiontest.Client, epoch string, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		f := next(t, c)
		var p struct{ N int }
		json.Unmarshal(f.payload, &p)
		if f.event != "msg" || p.N != i || f.ref == nil || *f.ref != epoch+":"+strconv.Itoa(i) {
			t.Fatalf("message %d: got %s %s ref %v", i, f.event, f.payload, f.ref)
		}
	}
}

func TestRecoverMissedInOrderBeforeLive(t *testing.T) {
	e := setup(t, history.Options{})
	c := e.open(t)
	p := join(t, c, "1", `{}`)
	if p.Offset != 0 || p.Epoch == "" || p.Recovered != nil {
		t.Fatalf("first join position %+v", p)
	}
	e.publish(t, 1, 3)
	expectMsgs(t, c, p.Epoch, 1, 3)
	c.Sess.Detach() // cut off after message 3

	e.publish(t, 4, 10) // missed
	c2 := e.open(t)
	p2 := join(t, c2, "5", `{"recover":{"epoch":"`+p.Epoch+`","offset":3}}`)
	if p2.Recovered == nil || !*p2.Recovered || p2.Offset != 10 || p2.Epoch != p.Epoch {
		t.Fatalf("recovery position %+v", p2)
	}
	e.publish(t, 11, 12) // live
	expectMsgs(t, c2, p.Epoch, 4, 12)
	c2.ExpectNothing()
}

func TestNotRecovered(t *testing.T) {
	cases := []struct {
		name   string
		params func(epoch string) string
	}{
		{"gap older than the history", func(ep string) string { return `{"recover":{"epoch":"` + ep + `","offset":1}}` }},
		{"another epoch", func(string) string { return `{"recover":{"epoch":"other","offset":8}}` }},
		{"offset ahead of the stream", func(ep string) string { return `{"recover":{"epoch":"` + ep + `","offset":99}}` }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t, history.Options{MaxEntries: 5})
			c := e.open(t)
			p := join(t, c, "1", `{}`)
			e.publish(t, 1, 10) // keeps 6…10
			expectMsgs(t, c, p.Epoch, 1, 10)
			c2 := e.open(t)
			p2 := join(t, c2, "1", tc.params(p.Epoch))
			if p2.Recovered == nil || *p2.Recovered || p2.Offset != 10 {
				t.Fatalf("position %+v, want recovered false at 10", p2)
			}
			e.publish(t, 11, 11) // live messages still flow
			expectMsgs(t, c2, p.Epoch, 11, 11)
		})
	}
}

func TestHistoryEdgeOfCount(t *testing.T) {
	e := setup(t, history.Options{MaxEntries: 5})
	c := e.open(t)
	p := join(t, c, "1", `{}`)
	e.publish(t, 1, 10)
	expectMsgs(t, c, p.Epoch, 1, 10)
	c2 := e.open(t)
	// 6…10 are kept: from offset 5 everything is there.
	if p2 := join(t, c2, "1", `{"recover":{"epoch":"`+p.Epoch+`","offset":5}}`); !*p2.Recovered {
		t.Fatalf("position %+v", p2)
	}
	expectMsgs(t, c2, p.Epoch, 6, 10)
}

func TestHistoryMaxAge(t *testing.T) {
	e := setup(t, history.Options{MaxAge: 30 * time.Millisecond})
	c := e.open(t)
	p := join(t, c, "1", `{}`)
	e.publish(t, 1, 2)
	expectMsgs(t, c, p.Epoch, 1, 2)
	time.Sleep(60 * time.Millisecond) // the messages age out
	c2 := e.open(t)
	if p2 := join(t, c2, "1", `{"recover":{"epoch":"`+p.Epoch+`","offset":1}}`); *p2.Recovered {
		t.Fatalf("recovered aged-out messages: %+v", p2)
	}
	c3 := e.open(t)
	if p3 := join(t, c3, "1", `{"recover":{"epoch":"`+p.Epoch+`","offset":2}}`); !*p3.Recovered {
		t.Fatalf("nothing missed, still not recovered: %+v", p3)
	}
}

// TestMaxTopicsNewEpoch: past MaxTopics the least recently used stream is
// dropped; its next message starts a new epoch, which a live client gets,
// and the old epoch is no longer recovered.
func TestMaxTopicsNewEpoch(t *testing.T) {
	e := setup(t, history.Options{MaxTopics: 1})
	c := e.open(t)
	p := join(t, c, "1", `{}`)
	// Another topic needs a stream: room:1's is dropped.
	if _, err := e.hist.Broadcast(context.Background(), "other", "x", nil); err != nil {
		t.Fatal(err)
	}
	pos, err := e.hist.Broadcast(context.Background(), "room:1", "msg", map[string]int{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	if pos.Epoch == p.Epoch || pos.Offset != 1 {
		t.Fatalf("position after the drop %+v, want offset 1 of a new epoch (old %s)", pos, p.Epoch)
	}
	expectMsgs(t, c, pos.Epoch, 1, 1)
	c2 := e.open(t)
	if p2 := join(t, c2, "1", `{"recover":{"epoch":"`+p.Epoch+`","offset":0}}`); p2.Recovered == nil || *p2.Recovered {
		t.Fatalf("recovered a dropped stream: %+v", p2)
	}
}

func TestBinaryRefused(t *testing.T) {
	h := history.New(history.Options{})
	if _, err := h.Broadcast(context.Background(), "room:1", "bin", phx.Binary{1, 2}); !errors.Is(err, history.ErrBinary) {
		t.Fatalf("Broadcast of a binary payload: %v, want ErrBinary", err)
	}
}

// TestWrappedHandler: the inner handler still decides joins and answers
// pushes; a refused join is not tracked.
func TestWrappedHandler(t *testing.T) {
	ep := phx.NewEndpoint(phx.Config{})
	t.Cleanup(func() { ep.Shutdown(context.Background()) })
	hist := history.New(history.Options{})
	ep.Handle("room:*", hist.Handler(phx.HandlerFuncs{
		JoinFunc: func(_ context.Context, _ *phx.Channel, p phx.Payload) (any, error) {
			var q struct{ Deny bool }
			p.Decode(&q)
			if q.Deny {
				return nil, &phx.JoinError{Response: map[string]string{"reason": "denied"}}
			}
			return map[string]string{"hello": "you"}, nil
		},
		InFunc: func(_ context.Context, _ *phx.Channel, m *phx.Message) (*phx.Reply, error) {
			return phx.Ok(map[string]string{"echo": m.Event}), nil
		},
	}))
	c := sessiontest.Open(t, ep, phx.ConnectInfo{Transport: "test"}, phx.V2JSON(), true)
	c.Send(`["1","1","room:1","phx_join",{"deny":true}]`)
	c.ExpectText(`["1","1","room:1","phx_reply",{"status":"error","response":{"reason":"denied"}}]`)
	c.Send(`["2","2","room:1","phx_join",{}]`)
	c.ExpectText(`["2","2","room:1","phx_reply",{"status":"ok","response":{"hello":"you"}}]`)
	if f := next(t, c); f.event != history.PositionEvent {
		t.Fatalf("got %s", f.event)
	}
	c.Send(`["2","3","room:1","ping",{}]`)
	c.ExpectText(`["2","3","room:1","phx_reply",{"status":"ok","response":{"echo":"ping"}}]`)
}
