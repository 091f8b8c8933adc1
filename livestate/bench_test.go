package livestate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/seance-go/seance/diff"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// The diff path benchmarks: a client event through an in-process session
// (decode, HandleEvent, one marshal, one decode, one tree diff, encode,
// queue), and its parts measured alone so their shares can be compared:
//
//	go test -run x -bench DiffPath -benchmem ./livestate/

type benchTodos struct {
	Todos []Todo `json:"todos"`
}

type benchItem struct {
	Key   string         `json:"key"`
	Value string         `json:"value"`
	Tags  []string       `json:"tags"`
	Meta  map[string]int `json:"meta"`
}

type benchSection struct {
	ID    int         `json:"id"`
	Name  string      `json:"name"`
	Items []benchItem `json:"items"`
}

type benchDoc struct {
	Sections []benchSection `json:"sections"`
}

func todos1000() benchTodos {
	st := benchTodos{Todos: make([]Todo, 1000)}
	for i := range st.Todos {
		st.Todos[i] = Todo{ID: i + 1, Title: fmt.Sprintf("todo number %d with a title of some length", i+1)}
	}
	return st
}

// doc1MB is a nested document of about 1 MB.
func doc1MB() benchDoc {
	var d benchDoc
	for s := 0; s < 200; s++ {
		sec := benchSection{ID: s, Name: fmt.Sprintf("section %d", s)}
		for i := 0; i < 25; i++ {
			sec.Items = append(sec.Items, benchItem{
				Key:   fmt.Sprintf("s%d-i%d", s, i),
				Value: strings.Repeat("v", 80),
				Tags:  []string{"alpha", "beta", "gamma"},
				Meta:  map[string]int{"count": i, "size": s * i, "rank": s + i},
			})
		}
		d.Sections = append(d.Sections, sec)
	}
	return d
}

type todoBench struct{}

func (todoBench) Init(ctx context.Context, s *livestate.Socket, p phx.Payload) (benchTodos, error) {
	return todos1000(), nil
}

func (todoBench) HandleEvent(ctx context.Context, s *livestate.Socket, event string, p phx.Payload, st *benchTodos) error {
	switch event {
	case "flip":
		st.Todos[500].Done = !st.Todos[500].Done
	case "append":
		n := len(st.Todos) + 1
		st.Todos = append(st.Todos, Todo{ID: n, Title: fmt.Sprintf("todo number %d with a title of some length", n)})
	case "reset":
		st.Todos = st.Todos[:1000:1000]
	}
	return nil
}

type docBench struct{}

func (docBench) Init(ctx context.Context, s *livestate.Socket, p phx.Payload) (benchDoc, error) {
	return doc1MB(), nil
}

func (docBench) HandleEvent(ctx context.Context, s *livestate.Socket, event string, p phx.Payload, st *benchDoc) error {
	st.Sections[123].Items[17].Meta["count"]++
	return nil
}

// benchEvents joins topic and measures one event per iteration until its
// state update is queued. every, when > 0, sends reset (untimed) every so
// many iterations.
func benchEvents(b *testing.B, topic, event string, every int) {
	reg := newRegistry(b)
	reg.Handle("todo:*", livestate.New(func() livestate.Channel[benchTodos] { return todoBench{} }, livestate.Options{}))
	reg.Handle("doc:*", livestate.New(func() livestate.Channel[benchDoc] { return docBench{} }, livestate.Options{}))
	c := open(b, reg)
	c.send(`["1","1","` + topic + `","phx_join",{}]`)
	c.next() // reply
	c.next() // state:change
	ctx := context.Background()
	frame := []byte(`["1","2","` + topic + `","lvs_evt:` + event + `",{}]`)
	reset := []byte(`["1","3","` + topic + `","lvs_evt:reset",{}]`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if every > 0 && i > 0 && i%every == 0 {
			b.StopTimer()
			c.sess.Receive(reset, false)
			if _, err := c.sess.Next(ctx); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		if err := c.sess.Receive(frame, false); err != nil {
			b.Fatal(err)
		}
		fs, err := c.sess.Next(ctx)
		if err != nil || len(fs) != 1 {
			b.Fatalf("Next = %d frames, %v", len(fs), err)
		}
	}
}

// benchParts measures the steps of one update alone: marshal the typed
// state, decode it into a tree, diff the trees.
func benchParts[S any](b *testing.B, prev S, change func(*S)) {
	prevJSON, _ := json.Marshal(&prev)
	var prevTree any
	json.Unmarshal(prevJSON, &prevTree)
	next := prev
	change(&next)
	nextJSON, _ := json.Marshal(&next)
	var nextTree any
	json.Unmarshal(nextJSON, &nextTree)
	d := diff.Default()
	b.Run("marshal", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(nextJSON)))
		for i := 0; i < b.N; i++ {
			if _, err := json.Marshal(&next); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(nextJSON)))
		for i := 0; i < b.N; i++ {
			var t any
			if err := json.Unmarshal(nextJSON, &t); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("diff", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			p, err := d.Diff(prevTree, nextTree)
			if err != nil || len(p) == 0 {
				b.Fatalf("diff = %q, %v", p, err)
			}
		}
	})
}

func BenchmarkDiffPath(b *testing.B) {
	b.Run("todos1000-flip/event", func(b *testing.B) { benchEvents(b, "todo:1", "flip", 0) })
	b.Run("todos1000-flip", func(b *testing.B) {
		benchParts(b, todos1000(), func(s *benchTodos) {
			s.Todos = append([]Todo(nil), s.Todos...)
			s.Todos[500].Done = true
		})
	})
	b.Run("todos1000-append/event", func(b *testing.B) { benchEvents(b, "todo:1", "append", 100) })
	b.Run("todos1000-append", func(b *testing.B) {
		benchParts(b, todos1000(), func(s *benchTodos) {
			s.Todos = append(append([]Todo(nil), s.Todos...), Todo{ID: 1001, Title: "new"})
		})
	})
	b.Run("doc1MB-deep/event", func(b *testing.B) { benchEvents(b, "doc:1", "deep", 0) })
	b.Run("doc1MB-deep", func(b *testing.B) {
		prev := doc1MB()
		benchParts(b, prev, func(s *benchDoc) {
			*s = doc1MB()
			s.Sections[123].Items[17].Meta["count"]++
		})
	})
}
