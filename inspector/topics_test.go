package inspector_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/seance-go/seance/inspector"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/presence"
)

// counter is a shared LiveState channel: one count per topic.
type counter struct{}

type count struct {
	N int `json:"n"`
}

func (counter) Init(context.Context, string) (count, error) { return count{}, nil }

func (counter) HandleEvent(_ context.Context, _ *livestate.Socket, _ string, _ phx.Payload, st *count) error {
	st.N++
	return nil
}

// TestTopicsTable: the table lists topics busiest first with their
// subscribers, events per second, shared state (version and size) and
// presence, bounded by MaxTopics.
func TestTopicsTable(t *testing.T) {
	in := inspector.New(inspector.Options{Authorize: func(*http.Request) error { return nil }, MaxTopics: 2,
		Interval: 20 * time.Millisecond, Engine: phx.Config{Logger: quietLogger()}})
	t.Cleanup(func() { in.Shutdown(context.Background()) })
	reg := livestate.NewRegistry(livestate.Config{Engine: phx.Config{Logger: quietLogger(), Observer: in.Observer()}})
	t.Cleanup(func() { reg.Shutdown(context.Background()) })
	ep := reg.Endpoint()
	tr := presence.New(ep, presence.Options{Logger: quietLogger()})
	t.Cleanup(func() { tr.Close(context.Background()) })
	reg.Handle("count:*", livestate.NewShared[count](counter{}, livestate.Options{}))
	reg.Handle("room:*", phx.HandlerFuncs{JoinFunc: func(_ context.Context, ch *phx.Channel, _ phx.Payload) (any, error) {
		_, err := tr.Track(ch, "me", nil)
		return nil, err
	}})
	in.Watch(ep)
	in.WatchPresence(tr)

	open := func(joins ...string) *phx.Session {
		s, err := ep.Open(phx.ConnectInfo{Transport: "longpoll"}, phx.V2JSON(), false)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Detach)
		for i, topic := range joins {
			ref := string(rune('1' + i))
			s.Receive([]byte(`["`+ref+`","`+ref+`","`+topic+`","phx_join",{}]`), false)
		}
		return s
	}
	busy := open("count:1", "room:quiet")
	open("count:1")
	open("room:empty")
	// Events on count:1 until the table shows them per second, with the
	// state's version.
	deadline := time.Now().Add(waitTimeout)
	var f inspector.Figures
	for {
		busy.Receive([]byte(`["1","9","count:1","lvs_evt:inc",{}]`), false)
		f = in.Figures()
		if len(f.Topics) > 0 && f.Topics[0].EventsPerSecond > 0 && f.Topics[0].State != nil && f.Topics[0].State.Version > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("topics %+v: want count:1 first, with events and its state", f.Topics)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(f.Topics) != 2 {
		t.Fatalf("%d topics listed, want MaxTopics (2): %+v", len(f.Topics), f.Topics)
	}
	top := f.Topics[0]
	if top.Name != "count:1" || top.Pattern != "count:*" || top.Subscribers != 2 || top.Nodes[ep.NodeName()] != 2 || top.State.Bytes < len(`{"n":1}`) {
		t.Errorf("busiest topic %+v", top)
	}
	// room:quiet and room:empty have one subscriber each and no events:
	// by name, room:empty comes first; its presence is the one tracked.
	if next := f.Topics[1]; next.Name != "room:empty" || next.Subscribers != 1 || next.State != nil || next.Presence != 1 || next.EventsPerSecond != 0 {
		t.Errorf("second topic %+v", next)
	}
}

// TestEventCountingAllocates: counting an event of a topic already counted
// in the interval allocates nothing (the observer runs on every event).
func TestEventCountingAllocates(t *testing.T) {
	in := inspector.New(inspector.Options{Engine: phx.Config{Logger: quietLogger()}})
	t.Cleanup(func() { in.Shutdown(context.Background()) })
	o, ctx := in.Observer(), context.Background()
	e := phx.EventInfo{Pattern: "room:*", Transport: "websocket", Topic: "room:1", Event: "say"}
	o.EventDone(ctx, e)
	if n := testing.AllocsPerRun(100, func() { o.EventDone(ctx, e) }); n != 0 {
		t.Errorf("%.1f allocations per event, want none", n)
	}
}
