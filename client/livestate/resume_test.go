package livestate_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seance-go/seance/client"
	"github.com/seance-go/seance/client/livestate"
	"github.com/seance-go/seance/internal/cuttest"
	server "github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/longpoll"
	"github.com/seance-go/seance/phx"
)

// resumeCounter counts its Inits.
type resumeCounter struct{ inits *atomic.Int32 }

type count struct {
	N int `json:"n"`
}

func (c resumeCounter) Init(context.Context, *server.Socket, phx.Payload) (count, error) {
	c.inits.Add(1)
	return count{}, nil
}

func (resumeCounter) HandleEvent(_ context.Context, _ *server.Socket, _ string, _ phx.Payload, st *count) error {
	st.N++
	return nil
}

// TestMirrorResumes: a Mirror whose connection is cut comes back to the
// state it had, at its version, without a second Init, and keeps counting
// — over both transports, with nothing but the client id the Socket sends
// by itself (the server has no connect hook: no identity).
func TestMirrorResumes(t *testing.T) {
	for _, tr := range []client.Transport{client.WebSocket, client.LongPoll} {
		t.Run(tr.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			inits := new(atomic.Int32)
			reg := server.NewRegistry(server.Config{
				Engine: phx.Config{Logger: slog.New(slog.DiscardHandler)},
				// A long-poll session is reaped 200 ms after its last poll.
				LongPoll: longpoll.Options{IdleTimeout: 200 * time.Millisecond, PollTimeout: 100 * time.Millisecond},
			})
			reg.Handle("counter:*", server.New(func() server.Channel[count] { return resumeCounter{inits} }, server.Options{ResumeGrace: 10 * time.Second}))
			cut := new(cuttest.Cutter)
			srv := httptest.NewServer(cut.Wrap(server.Handler(reg)))
			t.Cleanup(func() {
				sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer scancel()
				_ = reg.Shutdown(sctx)
				srv.Close()
			})

			fast := func(int) time.Duration { return 20 * time.Millisecond }
			opts := &client.Options{Transport: tr, HeartbeatInterval: -1, ClientID: "tab-42", ReconnectAfter: fast, RejoinAfter: fast}
			s, err := client.Dial(ctx, srv.URL+"/socket", opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			m := livestate.New(s, "counter:1", nil)
			changes := make(chan livestate.Change, 64)
			m.OnChange(func(c livestate.Change) { changes <- c })
			if err := m.Join(ctx); err != nil {
				t.Fatal(err)
			}
			waitVersion := func(v int) livestate.Change {
				t.Helper()
				for {
					select {
					case c := <-changes:
						if c.Version == v {
							return c
						}
					case <-ctx.Done():
						t.Fatalf("no change at version %d", v)
					}
				}
			}
			waitVersion(0)
			for range 7 {
				if err := m.PushEvent(ctx, "increment", nil); err != nil {
					t.Fatal(err)
				}
			}
			waitVersion(7)

			// Cut: refused for longer than the long-poll session lives.
			cut.Cut("tab-42", 500*time.Millisecond)
			var back livestate.Change
			select {
			case back = <-changes:
			case <-ctx.Done():
				t.Fatal("no state after the reconnect")
			}
			if n := back.State.(map[string]any)["n"]; back.Version != 7 || n != json.Number("7") {
				t.Fatalf("after the reconnect: version %d state %v, want the kept n 7 at version 7", back.Version, back.State)
			}
			if err := m.PushEvent(ctx, "increment", nil); err != nil {
				t.Fatal(err)
			}
			if c := waitVersion(8); c.State.(map[string]any)["n"] != json.Number("8") {
				t.Fatalf("after resume %v", c.State)
			}
			if n := inits.Load(); n != 1 {
				t.Fatalf("Init ran %d times, want 1", n)
			}
		})
	}
}
