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
// (decode, HandleEvent, encode the state, compare it with the JSON last
// sent, DiffBytes, encode the frame, queue), and its parts measured alone
// so their shares can be compared (decode and diff are the tree path, used
// only with a Differ that lacks DiffBytes):
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
			c.Sess.Receive(reset, false)
			if _, err := c.Sess.Next(ctx); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		if err := c.Sess.Receive(frame, false); err != nil {
			b.Fatal(err)
		}
		fs, err := c.Sess.Next(ctx)
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
	b.Run("diffbytes", func(b *testing.B) {
		bd := d.(diff.BytesDiffer)
		b.ReportAllocs()
		b.SetBytes(int64(len(nextJSON)))
		for i := 0; i < b.N; i++ {
			p, err := bd.DiffBytes(prevJSON, nextJSON)
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

// docChannel serves doc1MB as a *livestate.Doc: each event makes the same
// deep change as docBench, recorded instead of diffed.
type docChannel struct{}

func (docChannel) Init(ctx context.Context, s *livestate.Socket, p phx.Payload) (*livestate.Doc, error) {
	return livestate.NewDoc(doc1MB())
}

func (docChannel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, p phx.Payload, d **livestate.Doc) error {
	const at = "/sections/123/items/17/meta/count"
	var n int
	if err := (*d).Decode(at, &n); err != nil {
		return err
	}
	return (*d).Set(at, n+1)
}

// BenchmarkEvent1MB is one client event on a ~1 MB state with one deep
// change, until its state update is queued, against its baseline in the
// same run: json.Marshal of the same state. x-marshal is each
// sub-benchmark's time divided by the baseline's (run the baseline too:
// -bench Event1MB).
//
//	typed:  a Go struct state, the default path (encode, compare, DiffBytes)
//	doc:    the same content as a *livestate.Doc with one Set (recorded)
func BenchmarkEvent1MB(b *testing.B) {
	st := doc1MB()
	var baseNs float64
	ratio := func(b *testing.B) {
		if baseNs > 0 {
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/baseNs, "x-marshal")
		}
	}
	b.Run("baseline-json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := json.Marshal(&st); err != nil {
				b.Fatal(err)
			}
		}
		baseNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("typed", func(b *testing.B) {
		benchEvents(b, "doc:1", "deep", 0)
		ratio(b)
	})
	b.Run("doc", func(b *testing.B) {
		reg := newRegistry(b)
		reg.Handle("rec:*", livestate.New(func() livestate.Channel[*livestate.Doc] { return docChannel{} }, livestate.Options{}))
		c := open(b, reg)
		c.send(`["1","1","rec:1","phx_join",{}]`)
		c.next() // reply
		c.next() // state:change
		ctx := context.Background()
		frame := []byte(`["1","2","rec:1","lvs_evt:deep",{}]`)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := c.Sess.Receive(frame, false); err != nil {
				b.Fatal(err)
			}
			fs, err := c.Sess.Next(ctx)
			if err != nil || len(fs) != 1 {
				b.Fatalf("Next = %d frames, %v", len(fs), err)
			}
		}
		b.StopTimer()
		ratio(b)
	})
}

// sharedTodos is a shared channel over the 1,000-todo state.
type sharedTodos struct{}

func (sharedTodos) Init(ctx context.Context, topic string) (benchTodos, error) {
	return todos1000(), nil
}

func (sharedTodos) HandleEvent(ctx context.Context, s *livestate.Socket, event string, p phx.Payload, st *benchTodos) error {
	st.Todos[500].Done = !st.Todos[500].Done
	return nil
}

// BenchmarkSharedEvent is one client event on a shared channel (1,000
// todos, one flipped; as a Go struct and as a *livestate.Doc) until its
// update is queued for every joiner and taken from every session's queue,
// against a baseline in the same run: a broadcast (one frame, encoded once)
// to as many plain channels.
// x-broadcast is the shared event's time divided by the baseline's.
func BenchmarkSharedEvent(b *testing.B) {
	for _, n := range []int{1, 1000} {
		var baseNs float64
		b.Run(fmt.Sprintf("joiners=%d/baseline-broadcast", n), func(b *testing.B) {
			reg := newRegistry(b)
			reg.Handle("room:*", phx.HandlerFuncs{})
			sessions := joinMany(b, reg, "room:1", n, 1)
			payload := map[string]any{"patch": []any{map[string]any{"op": "replace", "path": "/todos/500/done", "value": true}}, "version": 1}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := reg.Broadcast(context.Background(), "room:1", "state:patch", payload); err != nil {
					b.Fatal(err)
				}
				drain(b, ctx, sessions)
			}
			baseNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		})
		shared := []struct {
			name string
			h    func() phx.Handler // a fresh handler per run: it holds the topics' state
		}{
			{"shared", func() phx.Handler {
				return livestate.NewShared[benchTodos](sharedTodos{}, livestate.Options{MaxVersion: 1 << 30})
			}},
			{"shared-doc", func() phx.Handler {
				return livestate.NewShared[*livestate.Doc](sharedTodosDoc{}, livestate.Options{MaxVersion: 1 << 30})
			}},
		}
		for _, sh := range shared {
			b.Run(fmt.Sprintf("joiners=%d/%s", n, sh.name), func(b *testing.B) {
				reg := newRegistry(b)
				reg.Handle("todo:*", sh.h())
				sessions := joinMany(b, reg, "todo:1", n, 2)
				frame := []byte(`["1","2","todo:1","lvs_evt:flip",{}]`)
				ctx := context.Background()
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := sessions[0].Receive(frame, false); err != nil {
						b.Fatal(err)
					}
					drain(b, ctx, sessions)
				}
				if baseNs > 0 {
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/baseNs, "x-broadcast")
				}
			})
		}
	}
}

// sharedTodosDoc is sharedTodos over a *livestate.Doc.
type sharedTodosDoc struct{}

func (sharedTodosDoc) Init(ctx context.Context, topic string) (*livestate.Doc, error) {
	return livestate.NewDoc(todos1000())
}

func (sharedTodosDoc) HandleEvent(ctx context.Context, s *livestate.Socket, event string, p phx.Payload, d **livestate.Doc) error {
	var done bool
	if err := (*d).Decode("/todos/500/done", &done); err != nil {
		return err
	}
	return (*d).Set("/todos/500/done", !done)
}

// joinMany opens n sessions joined to topic and reads the frames each join
// produces.
func joinMany(b *testing.B, reg *livestate.Registry, topic string, n, frames int) []*phx.Session {
	ctx := context.Background()
	sessions := make([]*phx.Session, n)
	for i := range sessions {
		sess, err := reg.Endpoint().Open(phx.ConnectInfo{Transport: "bench"}, phx.V2JSON(), true)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(sess.Detach)
		if err := sess.Receive([]byte(`["1","1","`+topic+`","phx_join",{}]`), false); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < frames; {
			fs, err := sess.Next(ctx)
			if err != nil {
				b.Fatal(err)
			}
			got += len(fs)
		}
		sessions[i] = sess
	}
	return sessions
}

// drain takes one frame from every session.
func drain(b *testing.B, ctx context.Context, sessions []*phx.Session) {
	for _, s := range sessions {
		fs, err := s.Next(ctx)
		if err != nil || len(fs) != 1 {
			b.Fatalf("Next = %d frames, %v", len(fs), err)
		}
	}
}
