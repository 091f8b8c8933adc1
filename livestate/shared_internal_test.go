package livestate

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/seance-go/seance/phx"
)

type countShared struct{}

func (countShared) Init(ctx context.Context, topic string) (int, error) { return 0, nil }

func (countShared) HandleEvent(ctx context.Context, s *Socket, event string, p phx.Payload, n *int) error {
	*n++
	return nil
}

func (countShared) HandleMessage(ctx context.Context, t *Topic, b *phx.Broadcast, n *int) error {
	*n++
	return nil
}

// TestSharedHandlesBroadcastOnce: with three clients joined, HandleMessage
// runs once per broadcast (the topic is claimed on the endpoint), every
// client gets one patch per broadcast, and the claim ends with the topic.
func TestSharedHandlesBroadcastOnce(t *testing.T) {
	reg := NewRegistry(Config{Engine: phx.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}})
	defer reg.Shutdown(context.Background())
	handler := NewShared[int](countShared{}, Options{MaxVersion: 1 << 30})
	reg.Handle("count:*", handler)
	h := handler.(*sharedHandler[int])
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var sessions []*phx.Session
	for i := 0; i < 3; i++ {
		sess, err := reg.Endpoint().Open(phx.ConnectInfo{Transport: "test"}, phx.V2JSON(), true)
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Detach()
		sess.Receive([]byte(`["1","1","count:1","phx_join",{}]`), false)
		for got := 0; got < 2; { // reply, state:change
			fs, err := sess.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got += len(fs)
		}
		sessions = append(sessions, sess)
	}
	const n = 50
	for i := 0; i < n; i++ {
		reg.Broadcast(context.Background(), "count:1", "tick", nil)
	}
	for _, sess := range sessions {
		for got := 0; got < n; { // one patch per broadcast
			fs, err := sess.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got += len(fs)
		}
	}
	h.mu.Lock()
	ts := h.topics["count:1"]
	h.mu.Unlock()
	ts.mu.Lock()
	state := ts.state
	ts.mu.Unlock()
	if state != n {
		t.Fatalf("HandleMessage ran %d times for %d broadcasts", state, n)
	}
	for _, sess := range sessions {
		sess.Close(nil)
	}
	for {
		h.mu.Lock()
		left := len(h.topics)
		h.mu.Unlock()
		if left == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the topic outlived its clients")
		}
		time.Sleep(time.Millisecond)
	}
	// Released: a broadcast now reaches no handler (and nothing panics).
	if n, err := reg.Broadcast(context.Background(), "count:1", "tick", nil); err != nil || n != 0 {
		t.Fatalf("broadcast after the last leave: %d, %v", n, err)
	}
	ts.mu.Lock()
	state = ts.state
	ts.mu.Unlock()
	if state != n {
		t.Fatalf("HandleMessage ran after the topic ended: %d", state)
	}
}

// TestSharedOwnFramesNotQueued: a clustered owner's own update frames come
// back through the topic's claim; they are dropped before the broadcast
// queue (they would otherwise be decoded for nothing and take queue slots
// from the broadcasts HandleMessage waits for), and other nodes' frames,
// including a node whose name extends this one's, are queued.
func TestSharedOwnFramesNotQueued(t *testing.T) {
	reg := NewRegistry(Config{Engine: phx.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}})
	defer reg.Shutdown(context.Background())
	h := NewShared[int](countShared{}, Options{}).(*sharedHandler[int])
	h.cl = &sharedCluster{own: ownFrames("n1")}
	ts := &topicState[int]{name: "count:1", ep: reg.Endpoint()}
	ts.running = true // no goroutine runs the queue: it is inspected below
	frameOf := func(node string) *phx.Broadcast {
		data, err := json.Marshal(frame{Node: node, Token: 3, Seq: 1, Event: "state:patch", Payload: json.RawMessage(`{"patch":[],"version":1}`)})
		if err != nil {
			t.Fatal(err)
		}
		return &phx.Broadcast{Topic: ts.name, Event: frameEvent, Payload: phx.Payload{Data: data}}
	}
	h.receive(ts, frameOf("n1"))
	if len(ts.inbox) != 0 {
		t.Fatalf("own frame queued: %d waiting", len(ts.inbox))
	}
	h.receive(ts, frameOf("n10"))
	h.receive(ts, frameOf("n2"))
	if len(ts.inbox) != 2 {
		t.Fatalf("%d other nodes' frames queued, want 2", len(ts.inbox))
	}
}
