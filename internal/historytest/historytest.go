// Package historytest checks a history.Store against what the history
// package expects of one: per-topic offsets without gaps, bounded reads
// that tell whether they cover a gap, and a new epoch when a stream is
// lost. The in-memory Store and the Redis and NATS ones run it.
package historytest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seance-go/seance/history"
)

// Config is what a Store's test provides.
type Config struct {
	// New returns a Store keeping maxEntries messages per topic for maxAge
	// (0: the Store's default).
	New func(t *testing.T, maxEntries int, maxAge time.Duration) history.Store
	// Lose, when set, loses topic's stream in the broker as an operator or
	// a failure would (deleted): the next message starts a new epoch.
	Lose func(t *testing.T, s history.Store, topic string)
}

var seq atomic.Uint64

// Topic returns a topic name unique in the process and across runs.
func Topic(prefix string) string {
	return fmt.Sprintf("%s:%d-%d", prefix, time.Now().UnixNano(), seq.Add(1))
}

// Conformance runs the checks as subtests.
func Conformance(t *testing.T, cfg Config) {
	ctx := context.Background()
	appendN := func(t *testing.T, s history.Store, topic string, from, to int) history.Position {
		t.Helper()
		var last history.Position
		for i := from; i <= to; i++ {
			pos, err := s.Append(ctx, topic, "msg", []byte(`{"n":`+strconv.Itoa(i)+`}`))
			if err != nil {
				t.Fatal(err)
			}
			last = pos
		}
		return last
	}
	since := func(t *testing.T, s history.Store, topic string, pos history.Position) history.Recovery {
		t.Helper()
		rec, err := s.Since(ctx, topic, pos)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}

	t.Run("offsets", func(t *testing.T) {
		s := cfg.New(t, 100, 0)
		topic := Topic("offsets")
		empty, err := s.Current(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		if empty.Epoch == "" {
			t.Fatalf("current position %+v has no epoch", empty)
		}
		var first history.Position
		for i := 1; i <= 5; i++ {
			pos, err := s.Append(ctx, topic, "msg", []byte(`{"n":`+strconv.Itoa(i)+`}`))
			if err != nil {
				t.Fatal(err)
			}
			if i == 1 {
				first = pos
				if c, _ := s.Current(ctx, topic); c != pos {
					t.Fatalf("current %+v after the first append at %+v", c, pos)
				}
			} else if pos.Epoch != first.Epoch || pos.Offset != first.Offset+uint64(i-1) {
				t.Fatalf("append %d at %+v, want offset %d of epoch %s", i, pos, first.Offset+uint64(i-1), first.Epoch)
			}
		}
		// A client that saw the topic before its first message recovers
		// all of them.
		if rec := since(t, s, topic, empty); !rec.Covered || len(rec.Entries) != 5 || rec.Entries[0].Position != first {
			t.Fatalf("since the position before any message %+v: %+v, want the 5 messages from %+v", empty, rec, first)
		}
		// Another topic has its own offsets.
		other := Topic("offsets-other")
		if p := appendN(t, s, other, 1, 1); p.Epoch == "" {
			t.Fatalf("other topic's first append at %+v", p)
		} else if c, _ := s.Current(ctx, other); c != p {
			t.Fatalf("other topic's current %+v after its append at %+v", c, p)
		}
	})

	t.Run("since", func(t *testing.T) {
		s := cfg.New(t, 100, 0)
		topic := Topic("since")
		top := appendN(t, s, topic, 1, 5)
		cur := history.Position{Epoch: top.Epoch, Offset: top.Offset - 5} // before message 1
		rec := since(t, s, topic, history.Position{Epoch: cur.Epoch, Offset: cur.Offset + 2})
		if !rec.Covered || rec.Top != top || len(rec.Entries) != 3 {
			t.Fatalf("since 2: %+v, want 3 entries to %+v", rec, top)
		}
		for i, e := range rec.Entries {
			want := fmt.Sprintf(`{"n":%d}`, i+3)
			if e.Epoch != cur.Epoch || e.Offset != cur.Offset+uint64(i+3) || e.Event != "msg" || !jsonEqual(e.Payload, want) {
				t.Fatalf("entry %d: %+v %s, want %s at %d", i, e.Position, e.Payload, want, cur.Offset+uint64(i+3))
			}
		}
		if rec := since(t, s, topic, top); !rec.Covered || len(rec.Entries) != 0 {
			t.Fatalf("since the top: %+v, want covered and empty", rec)
		}
		for name, pos := range map[string]history.Position{
			"another epoch":    {Epoch: cur.Epoch + "x", Offset: top.Offset},
			"ahead of the top": {Epoch: cur.Epoch, Offset: top.Offset + 1},
		} {
			if rec := since(t, s, topic, pos); rec.Covered || len(rec.Entries) != 0 || rec.Top != top {
				t.Errorf("%s: %+v, want not covered at %+v", name, rec, top)
			}
		}
	})

	t.Run("trimmed", func(t *testing.T) {
		s := cfg.New(t, 3, 0)
		topic := Topic("trimmed")
		top := appendN(t, s, topic, 1, 10) // keeps 8, 9, 10
		cur := history.Position{Epoch: top.Epoch, Offset: top.Offset - 10}
		if rec := since(t, s, topic, history.Position{Epoch: cur.Epoch, Offset: cur.Offset + 7}); !rec.Covered || len(rec.Entries) != 3 {
			t.Fatalf("since 7 with 8…10 kept: %+v", rec)
		}
		if rec := since(t, s, topic, history.Position{Epoch: cur.Epoch, Offset: cur.Offset + 6}); rec.Covered || rec.Top != top {
			t.Fatalf("since 6 with 8…10 kept: %+v, want not covered", rec)
		}
	})

	t.Run("aged", func(t *testing.T) {
		s := cfg.New(t, 100, 200*time.Millisecond)
		topic := Topic("aged")
		top := appendN(t, s, topic, 1, 2)
		cur := history.Position{Epoch: top.Epoch, Offset: top.Offset - 2}
		time.Sleep(500 * time.Millisecond) // both age out
		if rec := since(t, s, topic, history.Position{Epoch: cur.Epoch, Offset: cur.Offset + 1}); rec.Covered {
			t.Fatalf("since 1 after both aged out: %+v, want not covered", rec)
		}
		if rec := since(t, s, topic, top); !rec.Covered || rec.Top != top {
			t.Fatalf("since the top after both aged out: %+v, want covered (nothing missed)", rec)
		}
		if p := appendN(t, s, topic, 3, 3); p.Epoch != top.Epoch || p.Offset != top.Offset+1 {
			t.Fatalf("append after aging at %+v, want the offset after %+v", p, top)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		s := cfg.New(t, 1000, 0)
		topic := Topic("concurrent")
		cur := appendN(t, s, topic, 0, 0)
		var (
			mu   sync.Mutex
			offs []uint64
			wg   sync.WaitGroup
		)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 25 {
					pos, err := s.Append(ctx, topic, "msg", []byte(`{}`))
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					offs = append(offs, pos.Offset)
					if pos.Epoch != cur.Epoch {
						t.Errorf("a concurrent append at %+v, epoch of %+v", pos, cur)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
		for i, o := range offs {
			if o != cur.Offset+uint64(i+1) {
				t.Fatalf("offsets of concurrent appends: %v, want %d…%d", offs, cur.Offset+1, cur.Offset+100)
			}
		}
	})

	t.Run("lost", func(t *testing.T) {
		if cfg.Lose == nil {
			t.Skip("the Store cannot lose a stream")
		}
		s := cfg.New(t, 100, 0)
		topic := Topic("lost")
		old := appendN(t, s, topic, 1, 3)
		cfg.Lose(t, s, topic)
		p := appendN(t, s, topic, 4, 4)
		if p.Epoch == old.Epoch {
			t.Fatalf("append after the loss at %+v, same epoch as %+v", p, old)
		}
		if rec := since(t, s, topic, old); rec.Covered || rec.Top != p {
			t.Fatalf("since a lost position: %+v, want not covered at %+v", rec, p)
		}
	})
}

func jsonEqual(a json.RawMessage, b string) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal([]byte(b), &y) == nil && fmt.Sprint(x) == fmt.Sprint(y)
}
