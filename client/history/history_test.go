package history_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seance-go/seance/client"
	chistory "github.com/seance-go/seance/client/history"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/history"
	"github.com/seance-go/seance/internal/cuttest"
	"github.com/seance-go/seance/longpoll"
	"github.com/seance-go/seance/phx"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestStreamRecoversMissedBroadcasts: a client cut off for a second while
// 1,000 broadcasts go out receives all of them, in order, once, after it
// reconnects — over both transports.
func TestStreamRecoversMissedBroadcasts(t *testing.T) {
	for _, tr := range []client.Transport{client.WebSocket, client.LongPoll} {
		t.Run(tr.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			ep := phx.NewEndpoint(phx.Config{Logger: slog.New(slog.DiscardHandler)})
			hist := history.New(history.Options{MaxEntries: 2000})
			ep.Handle("room:*", hist.Handler(phx.HandlerFuncs{}))
			lp := longpoll.New(ep, longpoll.Options{IdleTimeout: 200 * time.Millisecond, PollTimeout: 100 * time.Millisecond})
			cut := new(cuttest.Cutter)
			srv := httptest.NewServer(cut.Wrap(handler.New(ep, handler.Options{LongPoll: lp})))
			t.Cleanup(func() {
				sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer scancel()
				_ = lp.Shutdown(sctx)
				_ = ep.Shutdown(sctx)
				srv.Close()
			})

			fast := func(int) time.Duration { return 20 * time.Millisecond }
			s, err := client.Dial(ctx, srv.URL+"/socket", &client.Options{
				Transport: tr, HeartbeatInterval: -1, ClientID: "tab-7", ReconnectAfter: fast, RejoinAfter: fast,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			st := chistory.New(s, "room:1", map[string]any{"app": "param"})
			var mu sync.Mutex
			var got []int
			st.Channel().On("msg", func(m client.Message) {
				var p struct{ N int }
				m.Decode(&p)
				mu.Lock()
				got = append(got, p.N)
				mu.Unlock()
			})
			recovered := make(chan bool, 4)
			st.OnRecovery(func(ok bool) { recovered <- ok })
			if _, err := st.Channel().Join(ctx); err != nil {
				t.Fatal(err)
			}
			publish := func(from, to int) {
				for i := from; i <= to; i++ {
					if _, err := hist.Broadcast(ctx, "room:1", "msg", map[string]int{"n": i}); err != nil {
						t.Fatal(err)
					}
				}
			}
			waitCount := func(n int) {
				t.Helper()
				for {
					mu.Lock()
					c := len(got)
					mu.Unlock()
					if c >= n {
						return
					}
					if ctx.Err() != nil {
						t.Fatalf("received %d messages, want %d", c, n)
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			publish(1, 10)
			waitCount(10)

			cut.Cut("tab-7", time.Second) // cut off for a second…
			publish(11, 1010)             // …while 1,000 broadcasts go out
			select {
			case ok := <-recovered:
				if !ok {
					t.Fatal("server says not recovered")
				}
			case <-ctx.Done():
				t.Fatal("no recovery")
			}
			publish(1011, 1020) // live again
			waitCount(1020)
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1020 {
				t.Fatalf("received %d messages, want 1020", len(got))
			}
			for i, n := range got {
				if n != i+1 {
					t.Fatalf("message %d is n=%d: not in order or duplicated", i, n)
				}
			}
			if pos, ok := st.Position(); !ok || pos.Offset != 1020 {
				t.Fatalf("position %v %v", pos, ok)
			}
		})
	}
}

// TestStreamNotRecovered: a gap larger than the history is reported.
func TestStreamNotRecovered(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ep := phx.NewEndpoint(phx.Config{Logger: slog.New(slog.DiscardHandler)})
	hist := history.New(history.Options{MaxEntries: 5})
	ep.Handle("room:*", hist.Handler(phx.HandlerFuncs{}))
	cut := new(cuttest.Cutter)
	srv := httptest.NewServer(cut.Wrap(handler.New(ep, handler.Options{})))
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = ep.Shutdown(sctx)
		srv.Close()
	})
	fast := func(int) time.Duration { return 20 * time.Millisecond }
	s, err := client.Dial(ctx, srv.URL+"/socket", &client.Options{HeartbeatInterval: -1, ClientID: "tab-8", ReconnectAfter: fast, RejoinAfter: fast})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st := chistory.New(s, "room:1", nil)
	recovered := make(chan bool, 4)
	st.OnRecovery(func(ok bool) { recovered <- ok })
	if _, err := st.Channel().Join(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := st.Position(); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no position after the join")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cut.Cut("tab-8", 300*time.Millisecond)
	for i := 1; i <= 20; i++ {
		hist.Broadcast(ctx, "room:1", "msg", json.RawMessage(`{}`))
	}
	select {
	case ok := <-recovered:
		if ok {
			t.Fatal("recovered with 20 missed and 5 kept")
		}
	case <-ctx.Done():
		t.Fatal("no recovery answer")
	}
	if pos, _ := st.Position(); pos.Offset != 20 {
		t.Fatalf("position %v after not recovering, want the stream's top", pos)
	}
}
