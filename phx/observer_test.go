package phx_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/seance-go/seance/phx"
)

// obsRecorder is an Observer writing one line per report.
type obsRecorder struct {
	mu    sync.Mutex
	lines []string
	in    int // bytes in
	out   int // bytes out
}

func (r *obsRecorder) add(format string, args ...any) {
	r.mu.Lock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

type ctxKey struct{}

func (r *obsRecorder) observer() *phx.Observer {
	return &phx.Observer{
		ConnOpened: func(tr string) { r.add("open %s", tr) },
		ConnClosed: func(tr, reason string) { r.add("close %s %s", tr, reason) },
		FrameIn: func(tr string, n int) {
			r.mu.Lock()
			r.in += n
			r.mu.Unlock()
		},
		FramesOut: func(tr string, frames, n int) {
			r.mu.Lock()
			r.out += n
			r.mu.Unlock()
		},
		QueueDropped: func(tr string, frames, n int) { r.add("dropped %s", tr) },
		JoinStart: func(ctx context.Context, e phx.EventInfo) context.Context {
			return context.WithValue(ctx, ctxKey{}, "join "+e.Topic)
		},
		JoinDone: func(ctx context.Context, e phx.EventInfo) {
			r.add("join %s %s %s err=%v crashed=%v ctx=%v", e.Pattern, e.Topic, e.Transport, e.Err != nil, e.Crashed, ctx.Value(ctxKey{}))
		},
		EventStart: func(ctx context.Context, e phx.EventInfo) context.Context {
			return context.WithValue(ctx, ctxKey{}, "event "+e.Event)
		},
		EventDone: func(ctx context.Context, e phx.EventInfo) {
			if e.Duration < 0 {
				r.add("negative duration")
			}
			r.add("event %s %s err=%v crashed=%v ctx=%v", e.Pattern, e.Event, e.Err != nil, e.Crashed, ctx.Value(ctxKey{}))
		},
		ChannelEnded: func(pattern, tr, reason string) { r.add("end %s %s %s", pattern, tr, reason) },
	}
}

// waitFor waits until the recorder holds every line of want.
func (r *obsRecorder) waitFor(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		r.mu.Lock()
		missing := ""
		for _, w := range want {
			if !slices.Contains(r.lines, w) {
				missing = w
				break
			}
		}
		lines := slices.Clone(r.lines)
		r.mu.Unlock()
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("observer never reported %q; got:\n%v", missing, lines)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestObserverReportsJoinsEventsAndEnds(t *testing.T) {
	rec := &obsRecorder{}
	ep, _ := newEndpoint(t, phx.Config{Observer: phx.Observers(nil, rec.observer())})
	ep.Handle("ctx:*", phx.HandlerFuncs{
		JoinFunc: func(ctx context.Context, ch *phx.Channel, _ phx.Payload) (any, error) {
			return map[string]any{"ctx": ctx.Value(ctxKey{})}, nil
		},
		InFunc: func(ctx context.Context, ch *phx.Channel, m *phx.Message) (*phx.Reply, error) {
			return phx.Ok(map[string]any{"ctx": ctx.Value(ctxKey{})}), nil
		},
	})
	c := open(t, ep)
	rec.waitFor(t, "open test")

	c.send(`["1","1","ctx:a","phx_join",{}]`)
	c.expect(`["1","1","ctx:a","phx_reply",{"status":"ok","response":{"ctx":"join ctx:a"}}]`)
	c.send(`["1","2","ctx:a","hello",{}]`)
	c.expect(`["1","2","ctx:a","phx_reply",{"status":"ok","response":{"ctx":"event hello"}}]`)

	c.send(`["2","3","room:refuse","phx_join",{}]`)
	c.nextFrame()
	c.send(`["4","4","room:crash","phx_join",{}]`)
	c.nextFrame()
	c.send(`["5","5","room:1","phx_join",{}]`)
	c.nextFrame()
	c.send(`["5","6","room:1","error",{}]`)
	c.nextFrame()
	c.send(`["5","7","room:1","status",{}]`)
	c.nextFrame()
	c.send(`["5","8","room:1","panic",{}]`)
	c.nextFrame() // phx_error
	c.send(`["9","9","plain","phx_join",{}]`)
	c.nextFrame()
	c.send(`["9","10","plain","phx_leave",{}]`)
	c.nextFrame()

	rec.waitFor(t,
		"join ctx:* ctx:a test err=false crashed=false ctx=join ctx:a",
		"event ctx:* hello err=false crashed=false ctx=event hello",
		"join room:* room:refuse test err=true crashed=false ctx=join room:refuse",
		"join room:* room:crash test err=true crashed=true ctx=join room:crash",
		"join room:* room:1 test err=false crashed=false ctx=join room:1",
		"event room:* error err=true crashed=false ctx=event error",
		"event room:* status err=true crashed=false ctx=event status",
		"event room:* panic err=false crashed=true ctx=event panic",
		"end room:* test crashed",
		"join plain plain test err=false crashed=false ctx=join plain",
		"end plain test left",
	)
	c.Sess.Detach()
	rec.waitFor(t, "end ctx:* test disconnected", "close test disconnected")

	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.in == 0 || rec.out == 0 {
		t.Errorf("bytes in %d, out %d: want both counted", rec.in, rec.out)
	}
	for _, l := range rec.lines {
		if l == "negative duration" || l == "end room:* test join_refused" {
			t.Errorf("unexpected report %q", l)
		}
	}
}

func TestObserverReportsSlowConsumer(t *testing.T) {
	rec := &obsRecorder{}
	ep, _ := newEndpoint(t, phx.Config{QueueLength: 2, Observer: rec.observer()})
	c := open(t, ep)
	c.send(`["1","1","room:1","phx_join",{}]`)
	c.send(`["1","2","room:1","echo",{}]`)
	c.send(`["1","3","room:1","echo",{}]`)
	rec.waitFor(t, "dropped test", "end room:* test slow_consumer")
	c.Sess.Detach()
	rec.waitFor(t, "close test slow_consumer")
}

func TestCloseAndEndReasons(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, "disconnected"},
		{phx.ErrDisconnected, "disconnected"},
		{phx.IdleTimeout(), "idle"},
		{&phx.CloseError{Code: phx.CloseGoingAway, Reason: "disconnected"}, "disconnected"},
		{&phx.CloseError{Code: phx.CloseInvalidData, Reason: "bad: " + "anything"}, "invalid_data"},
		{&phx.CloseError{Code: phx.CloseTooBig, Reason: "frame too large"}, "too_big"},
		{&phx.CloseError{Code: 4000, Reason: "x"}, "other"},
		{phx.ErrShutdown, "shutdown"},
		{phx.ErrSlowConsumer, "slow_consumer"},
		{errors.New("surprise"), "other"},
	} {
		if got := phx.CloseReason(tc.err); got != tc.want {
			t.Errorf("CloseReason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	if !errors.Is(phx.IdleTimeout(), phx.ErrDisconnected) {
		t.Error("an idle timeout must end channels with ErrDisconnected")
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{phx.ErrLeft, "left"}, {phx.ErrDisconnected, "disconnected"}, {phx.IdleTimeout(), "disconnected"},
		{phx.ErrDuplicateJoin, "duplicate_join"}, {phx.ErrShutdown, "shutdown"}, {phx.ErrServerClose, "server_close"},
		{phx.ErrCrashed, "crashed"}, {phx.ErrSlowConsumer, "slow_consumer"},
	} {
		if got := phx.EndReason(tc.err); got != tc.want {
			t.Errorf("EndReason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestObserversChainsInOrder(t *testing.T) {
	if phx.Observers() != nil || phx.Observers(nil, nil) != nil {
		t.Fatal("Observers of nothing must be nil")
	}
	var got []string
	mk := func(name string) *phx.Observer {
		return &phx.Observer{
			ConnOpened: func(tr string) { got = append(got, name+" "+tr) },
			EventStart: func(ctx context.Context, e phx.EventInfo) context.Context {
				prev, _ := ctx.Value(ctxKey{}).(string)
				return context.WithValue(ctx, ctxKey{}, prev+name)
			},
		}
	}
	o := phx.Observers(mk("a"), &phx.Observer{}, mk("b"))
	o.ConnOpened("ws")
	if o.FrameIn != nil {
		t.Error("a callback no observer sets must stay nil")
	}
	ctx := o.EventStart(context.Background(), phx.EventInfo{})
	if want := []string{"a ws", "b ws"}; !slices.Equal(got, want) {
		t.Errorf("ConnOpened calls %v, want %v", got, want)
	}
	if v := ctx.Value(ctxKey{}); v != "ab" {
		t.Errorf("EventStart context %v, want ab", v)
	}
}

func TestEachSessionAndTopics(t *testing.T) {
	ep, _ := newEndpoint(t, phx.Config{})
	a, b := open(t, ep), open(t, ep)
	a.send(`["1","1","room:b","phx_join",{}]`)
	a.nextFrame()
	a.send(`["2","2","room:a","phx_join",{}]`)
	a.nextFrame()
	seen := map[string][]string{}
	ep.EachSession(func(s *phx.Session) bool {
		seen[s.ID()] = s.Topics()
		return true
	})
	if len(seen) != 2 || !slices.Equal(seen[a.Sess.ID()], []string{"room:a", "room:b"}) || len(seen[b.Sess.ID()]) != 0 {
		t.Errorf("EachSession saw %v", seen)
	}
	n := 0
	ep.EachSession(func(*phx.Session) bool { n++; return false })
	if n != 1 {
		t.Errorf("EachSession went on after false: %d calls", n)
	}
}
