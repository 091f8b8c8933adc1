package livestate_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// BenchmarkWireBytes reports the bytes on the wire per event (whole v2
// frames, as the transport writes them) with live_state's default wire and
// with Options.CompactWire, for a tiny counter and a 1,000-todo list:
//
//	go test -run '^$' -bench WireBytes ./livestate/
//
// The wire-B/event figures are exact (they do not depend on the machine);
// BENCHMARKS.md section 7 quotes them.
func BenchmarkWireBytes(b *testing.B) {
	for _, st := range []struct {
		name   string
		events []string
	}{
		{"counter", []string{"increment", "noop"}},
		{"todos1000", []string{"toggle", "noop", "retitle_all"}},
	} {
		for _, event := range st.events {
			for _, compact := range []bool{false, true} {
				wire := "default"
				if compact {
					wire = "compact"
				}
				b.Run(st.name+"/"+event+"/"+wire, func(b *testing.B) {
					benchWireBytes(b, st.name, event, compact)
				})
			}
		}
	}
}

type wireState struct {
	Count int    `json:"count,omitempty"`
	Todos []Todo `json:"todos,omitempty"`
}

type wireChannel struct{ todos bool }

func (c wireChannel) Init(context.Context, *livestate.Socket, phx.Payload) (wireState, error) {
	if !c.todos {
		return wireState{}, nil
	}
	return wireState{Todos: todos1000().Todos}, nil
}

func (wireChannel) HandleEvent(_ context.Context, _ *livestate.Socket, event string, _ phx.Payload, st *wireState) error {
	switch event {
	case "increment":
		st.Count++
	case "toggle":
		st.Todos[500].Done = !st.Todos[500].Done
	case "retitle_all":
		for i := range st.Todos {
			st.Todos[i].Title = fmt.Sprintf("%.40s%d", st.Todos[i].Title, st.Count)
		}
		st.Count++
	}
	return nil
}

func benchWireBytes(b *testing.B, state, event string, compact bool) {
	reg := newRegistry(b)
	todos := state == "todos1000"
	reg.Handle("wire:*", livestate.New(func() livestate.Channel[wireState] { return wireChannel{todos: todos} },
		livestate.Options{CompactWire: compact}))
	c := open(b, reg)
	c.send(`["1","1","wire:1","phx_join",{}]`)
	c.next() // reply
	c.next() // state:change
	frame := []byte(`["1","2","wire:1","lvs_evt:` + event + `",{}]`)
	// Each event is followed by an event that is not LiveState's: the
	// channel handles both in order and answers the second with an error
	// reply and no state update, which marks the end of what the first
	// sent (possibly nothing).
	mark := []byte(`["1","3","wire:1","mark",{}]`)
	ctx := context.Background()
	total := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Sess.Receive(frame, false)
		c.Sess.Receive(mark, false)
	read:
		for {
			frames, err := c.Sess.Next(ctx)
			if err != nil {
				b.Fatal(err)
			}
			for _, f := range frames {
				if strings.HasPrefix(string(f.Data), `["1","3","wire:1","phx_reply"`) {
					break read
				}
				total += len(f.Data)
			}
		}
	}
	b.ReportMetric(float64(total)/float64(b.N), "wire-B/event")
}
