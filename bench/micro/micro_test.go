package micro

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/seance-go/seance/bench/internal/bigstate"
	"github.com/seance-go/seance/bench/internal/inproc"
	"github.com/seance-go/seance/bench/internal/server"
	"github.com/seance-go/seance/diff"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var eventFrame = []byte(`["3","17","counter:bench","lvs_evt:increment",{"by":1,"note":"a small payload"}]`)

func BenchmarkV2Decode(b *testing.B) {
	ser := phx.V2JSON()
	b.ReportAllocs()
	b.SetBytes(int64(len(eventFrame)))
	for b.Loop() {
		if _, err := ser.Decode(eventFrame, false); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkV2EncodePatch(b *testing.B) {
	ser := phx.V2JSON()
	payload := []byte(`{"patch":[{"op":"replace","path":"/count","value":42}],"version":42}`)
	out := &phx.Outgoing{Kind: phx.KindPush, Topic: "counter:bench", Event: "state:patch", Payload: payload}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ser.Encode(out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPatchPayload(b *testing.B) {
	d := livestate.LiveStateDialect()
	patch := []byte(`[{"op":"replace","path":"/count","value":42}]`)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d.Patch(patch, i%1000)
	}
}

func trees(b *testing.B, a, c any) (any, any) {
	b.Helper()
	dec := func(v any) any {
		data, err := json.Marshal(v)
		if err != nil {
			b.Fatal(err)
		}
		var t any
		if err := json.Unmarshal(data, &t); err != nil {
			b.Fatal(err)
		}
		return t
	}
	return dec(a), dec(c)
}

func BenchmarkDiffCounter(b *testing.B) {
	prev, next := trees(b, server.Counter{Count: 1, Step: 1, Name: "n"}, server.Counter{Count: 2, Step: 1, Name: "n"})
	d := diff.Default()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Diff(prev, next); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDiffBigStateOneDeepChange(b *testing.B) {
	s := bigstate.New(1 << 20)
	s2 := bigstate.New(1 << 20)
	s2.Items[bigstate.Touched(&s2)].Detail.Counter++
	prev, next := trees(b, &s, &s2)
	d := diff.Default()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Diff(prev, next); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalBigState(b *testing.B) {
	s := bigstate.New(1 << 20)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(&s); err != nil {
			b.Fatal(err)
		}
	}
}

// newServer returns the harness's registry, shut down at the end of b.
func newServer(b *testing.B) *phx.Endpoint {
	b.Helper()
	srv := server.New(server.Options{LongPoll: "off"})
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv.Reg.Endpoint()
}

func ctxFor(b *testing.B) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	b.Cleanup(cancel)
	return ctx
}

// BenchmarkBroadcast2000 publishes one event on a plain topic with 2,000
// in-process subscribers and drains every session's queue: the engine's
// whole fan-out, without sockets.
func BenchmarkBroadcast2000(b *testing.B) {
	ep := newServer(b)
	ctx := ctxFor(b)
	conns := make([]*inproc.Conn, 2000)
	for i := range conns {
		c, err := inproc.Open(ep)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(c.Sess.Detach)
		if err := c.Join(ctx, "room:bench", false); err != nil {
			b.Fatal(err)
		}
		conns[i] = c
	}
	payload := server.Tick{Body: server.TickBody}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		payload.Seq = i
		if n, err := ep.Broadcast(context.Background(), "room:bench", "tick", payload); err != nil || n != len(conns) {
			b.Fatalf("broadcast reached %d: %v", n, err)
		}
		for _, c := range conns {
			if _, err := c.WaitFor(ctx, "tick"); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func benchEvent(b *testing.B, topic, event string, state bool) {
	benchEventWith(b, topic, event, state, (*inproc.Conn).Push)
}

func benchEventWith(b *testing.B, topic, event string, state bool, push func(*inproc.Conn, string, string, []byte) error) {
	ep := newServer(b)
	ctx := ctxFor(b)
	c, err := inproc.Open(ep)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Sess.Detach)
	if err := c.Join(ctx, topic, state); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := push(c, topic, event, nil); err != nil {
			b.Fatal(err)
		}
		if _, err := c.WaitFor(ctx, "state:patch", "state:change"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLiveStateEventCounter is one lvs_evt:increment → state:patch
// through an in-process session.
func BenchmarkLiveStateEventCounter(b *testing.B) {
	benchEvent(b, "counter:bench", "lvs_evt:increment", true)
}

// BenchmarkLiveStateEventCounterInline is BenchmarkLiveStateEventCounter
// on the WebSocket handler's path: the callback runs on the goroutine that
// received the frame (Session.ReceiveInline).
func BenchmarkLiveStateEventCounterInline(b *testing.B) {
	benchEventWith(b, "counter:bench", "lvs_evt:increment", true, (*inproc.Conn).PushInline)
}

// BenchmarkLiveStateEventBigState is one event changing one deep field of a
// 1 MB state.
func BenchmarkLiveStateEventBigState(b *testing.B) {
	benchEvent(b, "big:bench", "lvs_evt:touch", true)
}

// BenchmarkLiveStateEventBigDoc is the same event on the same 1 MB state
// held in a livestate.Doc: one Doc.Set, whose recorded operation is sent.
func BenchmarkLiveStateEventBigDoc(b *testing.B) {
	benchEvent(b, "bigdoc:bench", "lvs_evt:touch", true)
}

// TestInProcessEvent checks the in-process driver the benchmarks use: an
// event on the counter yields the expected patch.
func TestInProcessEvent(t *testing.T) {
	srv := server.New(server.Options{LongPoll: "off"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	defer srv.Shutdown(ctx)
	c, err := inproc.Open(srv.Reg.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Sess.Detach()
	if err := c.Join(ctx, "counter:t", true); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if err := c.Push("counter:t", "lvs_evt:increment", nil); err != nil {
			t.Fatal(err)
		}
		data, err := c.WaitFor(ctx, "state:patch")
		if err != nil {
			t.Fatal(err)
		}
		want := `{"patch":[{"op":"replace","path":"/count","value":` + strconv.Itoa(i) + `}],"version":` + strconv.Itoa(i) + `}]`
		if got := string(data); len(got) < len(want) || got[len(got)-len(want):] != want {
			t.Fatalf("event %d: got %s, want a frame ending in %s", i, got, want)
		}
	}
}
