package phx_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/seance-go/seance/phx"
)

// gateHandler's "block" event signals entered and waits for release;
// "echo" replies with its payload.
type gateHandler struct {
	entered chan string
	release chan struct{}
}

func (g *gateHandler) Join(context.Context, *phx.Channel, phx.Payload) (any, error) { return nil, nil }

func (g *gateHandler) HandleIn(ctx context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
	switch msg.Event {
	case "block":
		g.entered <- ch.Topic()
		<-g.release
	case "boom":
		panic("boom")
	}
	return phx.Ok(msg.Payload), nil
}

// inlineSession opens a session of a new endpoint that serves h at
// pattern; the session detaches and the endpoint shuts down when the test
// ends.
func inlineSession(t *testing.T, pattern string, h phx.Handler) *phx.Session {
	t.Helper()
	ep := phx.NewEndpoint(phx.Config{Logger: quietLogger()})
	ep.Handle(pattern, h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ep.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	sess, err := ep.Open(phx.ConnectInfo{Transport: "test"}, phx.V2JSON(), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sess.Detach)
	return sess
}

// TestReceiveInline: an event of an idle channel is left to the caller; an
// event of a busy channel, a heartbeat and a join are not, and the busy
// channel's events still run after the one in progress, in order.
func TestReceiveInline(t *testing.T) {
	g := &gateHandler{entered: make(chan string, 1), release: make(chan struct{})}
	sess := inlineSession(t, "gate:*", g)
	receive := func(frame string) phx.Inline {
		t.Helper()
		w, err := sess.ReceiveInline([]byte(frame), false)
		if err != nil {
			t.Fatalf("%s: %v", frame, err)
		}
		return w
	}
	next := func() string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var out string
		for out == "" {
			frames, err := sess.Next(ctx)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			for _, f := range frames {
				out += string(f.Data) + "\n"
			}
		}
		return out
	}
	if w := receive(`["1","1","gate:a","phx_join",{}]`); w.Pending() {
		t.Fatal("a join was left to run inline")
	}
	next()
	w := receive(`["1","2","gate:a","block",{}]`)
	if !w.Pending() {
		t.Fatal("the event of an idle channel was not left to run inline")
	}
	done := make(chan struct{})
	go func() { w.Run(); close(done) }()
	<-g.entered
	for i := 3; i < 6; i++ {
		if w := receive(fmt.Sprintf(`["1","%d","gate:a","echo",{"n":%d}]`, i, i)); w.Pending() {
			t.Fatal("the event of a busy channel was left to run inline")
		}
	}
	if w := receive(`[null,"hb","phoenix","heartbeat",{}]`); w.Pending() {
		t.Fatal("a heartbeat was left to run inline")
	}
	if got, want := next(), `[null,"hb","phoenix","phx_reply",{"status":"ok","response":{}}]`+"\n"; got != want {
		t.Fatalf("while the channel is busy got %q, want the heartbeat reply %q", got, want)
	}
	close(g.release)
	<-done
	var got string
	for len(got) < len(`["1","2","gate:a","phx_reply",{"status":"ok","response":{}}]`)+3*len(`["1","3","gate:a","phx_reply",{"status":"ok","response":{"n":3}}]`)+4 {
		got += next()
	}
	want := `["1","2","gate:a","phx_reply",{"status":"ok","response":{}}]` + "\n"
	for i := 3; i < 6; i++ {
		want += fmt.Sprintf(`["1","%d","gate:a","phx_reply",{"status":"ok","response":{"n":%d}}]`, i, i) + "\n"
	}
	if got != want {
		t.Fatalf("replies after the release:\n%s\nwant, in order:\n%s", got, want)
	}
	// The channel is idle again: its next event is left inline.
	w = receive(`["1","9","gate:a","echo",{}]`)
	if !w.Pending() {
		t.Fatal("the event of the channel idle again was not left to run inline")
	}
	w.Run()
	next()
	// A callback run inline that panics crashes its channel only.
	w = receive(`["1","10","gate:a","boom",{}]`)
	if !w.Pending() {
		t.Fatal("the event was not left to run inline")
	}
	w.Run()
	if got, want := next(), `["1","1","gate:a","phx_error",{"reason":"channel_crash"}]`+"\n"; got != want {
		t.Fatalf("after a crash got %q, want %q", got, want)
	}
	if topics := sess.Topics(); len(topics) != 0 {
		t.Fatalf("topics after the crash: %v", topics)
	}
}

// valueHandler takes client events by value too (as livestate's handlers
// do); HandleIn must then not be called.
type valueHandler struct {
	values, pointers int
}

func (v *valueHandler) Join(context.Context, *phx.Channel, phx.Payload) (any, error) { return nil, nil }

func (v *valueHandler) HandleIn(ctx context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
	v.pointers++
	return phx.Ok(nil), nil
}

func (v *valueHandler) HandleInValue(ctx context.Context, ch *phx.Channel, msg phx.Message) (*phx.Reply, error) {
	v.values++
	return phx.Ok(map[string]any{"event": msg.Event, "topic": msg.Topic, "ref": msg.Ref.String(), "payload": phx.Raw(msg.Payload.Data)}), nil
}

// TestHandleInValue: a handler with HandleInValue gets every client event
// by value, on the inline path and on the workers', with the message's
// fields, and its HandleIn is not called.
func TestHandleInValue(t *testing.T) {
	v := &valueHandler{}
	sess := inlineSession(t, "v:*", v)
	next := func() string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		frames, err := sess.Next(ctx)
		if err != nil || len(frames) != 1 {
			t.Fatalf("Next: %d frames, %v", len(frames), err)
		}
		return string(frames[0].Data)
	}
	if err := sess.Receive([]byte(`["1","1","v:a","phx_join",{}]`), false); err != nil {
		t.Fatal(err)
	}
	next()
	want := `["1","2","v:a","phx_reply",{"status":"ok","response":{"event":"ev","payload":{"n":1},"ref":"2","topic":"v:a"}}]`
	w, err := sess.ReceiveInline([]byte(`["1","2","v:a","ev",{"n":1}]`), false)
	if err != nil || !w.Pending() {
		t.Fatalf("ReceiveInline: pending %v, %v", w.Pending(), err)
	}
	w.Run()
	if got := next(); got != want {
		t.Errorf("inline: got %s, want %s", got, want)
	}
	if err := sess.Receive([]byte(`["1","3","v:a","ev",{"n":1}]`), false); err != nil { // the workers' path
		t.Fatal(err)
	}
	want = `["1","3","v:a","phx_reply",{"status":"ok","response":{"event":"ev","payload":{"n":1},"ref":"3","topic":"v:a"}}]`
	if got := next(); got != want {
		t.Errorf("workers: got %s, want %s", got, want)
	}
	if v.values != 2 || v.pointers != 0 {
		t.Errorf("HandleInValue called %d times, HandleIn %d", v.values, v.pointers)
	}
}

// quietHandler answers nothing; it takes events by value (as livestate's
// handlers do), so that the message reaches it without a copy on the heap.
type quietHandler struct{}

func (quietHandler) Join(context.Context, *phx.Channel, phx.Payload) (any, error) { return nil, nil }
func (quietHandler) HandleIn(context.Context, *phx.Channel, *phx.Message) (*phx.Reply, error) {
	return nil, nil
}
func (quietHandler) HandleInValue(context.Context, *phx.Channel, phx.Message) (*phx.Reply, error) {
	return nil, nil
}

// TestReceiveInlineAllocs: an event run inline allocates only the strings
// of its header; the decoded message stays on the transport's stack (a
// join's copy is its own).
func TestReceiveInlineAllocs(t *testing.T) {
	sess := inlineSession(t, "quiet:*", quietHandler{})
	if _, err := sess.ReceiveInline([]byte(`["1","1","quiet:a","phx_join",{}]`), false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := sess.Next(ctx); err != nil { // the join reply
		t.Fatal(err)
	}
	frame := []byte(`["1","2","quiet:a","ev",{"n":1}]`)
	allocs := testing.AllocsPerRun(200, func() {
		w, err := sess.ReceiveInline(frame, false)
		if err != nil || !w.Pending() {
			t.Fatalf("ReceiveInline: pending %v, %v", w.Pending(), err)
		}
		w.Run()
	})
	if allocs > 1 {
		t.Errorf("%.1f allocations per event, want at most 1 (its header's strings)", allocs)
	}
}
