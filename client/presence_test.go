package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/seance-go/seance/client"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/presence"
)

func entry(refs ...string) *client.PresenceEntry {
	e := &client.PresenceEntry{}
	for _, r := range refs {
		e.Metas = append(e.Metas, client.PresenceMeta{Ref: r, Data: json.RawMessage(`{"phx_ref":"` + r + `"}`)})
	}
	return e
}

func refsOf(e *client.PresenceEntry) []string {
	if e == nil {
		return nil
	}
	var out []string
	for _, m := range e.Metas {
		out = append(out, m.Ref)
	}
	return out
}

// The semantics of phoenix.js's Presence.syncState and syncDiff.
func TestSyncStateAndDiff(t *testing.T) {
	var events []string
	onJoin := func(key string, cur, joined *client.PresenceEntry) {
		events = append(events, fmt.Sprintf("join %s cur=%v new=%v", key, refsOf(cur), refsOf(joined)))
	}
	onLeave := func(key string, cur, left *client.PresenceEntry) {
		events = append(events, fmt.Sprintf("leave %s cur=%v left=%v", key, refsOf(cur), refsOf(left)))
	}
	st := client.SyncState(client.PresenceState{}, client.PresenceState{"u1": entry("1", "2"), "u2": entry("3")}, onJoin, onLeave)
	// A second tab of u1 joins; u2's meta is replaced (update).
	st = client.SyncDiff(st, client.PresenceDiff{
		Joins:  client.PresenceState{"u1": entry("4"), "u2": entry("5")},
		Leaves: client.PresenceState{"u2": entry("3")},
	}, onJoin, onLeave)
	if got := refsOf(st["u1"]); !slices.Equal(got, []string{"1", "2", "4"}) {
		t.Fatalf("u1 metas %v", got)
	}
	if got := refsOf(st["u2"]); !slices.Equal(got, []string{"5"}) {
		t.Fatalf("u2 metas %v", got)
	}
	// A new state without u2 and without u1's meta 1: they leave.
	st = client.SyncState(st, client.PresenceState{"u1": entry("2", "4")}, onJoin, onLeave)
	if _, ok := st["u2"]; ok || !slices.Equal(refsOf(st["u1"]), []string{"2", "4"}) {
		t.Fatalf("after state: %v / %v", refsOf(st["u1"]), refsOf(st["u2"]))
	}
	// A leave of an unknown key does nothing.
	st = client.SyncDiff(st, client.PresenceDiff{Leaves: client.PresenceState{"ghost": entry("9")}}, onJoin, onLeave)
	want := []string{
		"join u1 cur=[] new=[1 2]",
		"join u2 cur=[] new=[3]",
		"join u1 cur=[1 2] new=[4]",
		"join u2 cur=[3] new=[5]",
		"leave u2 cur=[5] left=[3]",
		"leave u1 cur=[2 4] left=[1]",
		"leave u2 cur=[] left=[5]",
	}
	if !slices.Equal(events, want) {
		t.Fatalf("callbacks:\n%q\nwant\n%q", events, want)
	}
	if len(st) != 1 {
		t.Fatalf("state %v", st)
	}
}

// presenceServer serves "presence:*": each joiner is tracked under its
// "user" param with meta {"tab": …}; "update" replaces the meta.
func presenceServer(t *testing.T) string {
	t.Helper()
	reg := livestate.NewRegistry(livestate.Config{
		Engine: phx.Config{Logger: slog.New(slog.DiscardHandler)},
		Socket: handler.Options{Logger: slog.New(slog.DiscardHandler)},
	})
	tr := presence.New(reg.Endpoint(), presence.Options{Interval: 10 * time.Millisecond})
	reg.Handle("presence:*", presenceHandler{tr})
	srv := httptest.NewServer(livestate.Handler(reg))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		reg.Shutdown(ctx)
		tr.Close(ctx)
		srv.Close()
	})
	return "ws" + srv.URL[len("http"):] + "/socket"
}

type presenceHandler struct{ tr *presence.Tracker }

func (presenceHandler) Join(_ context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
	var p struct{ User, Tab string }
	if err := params.Decode(&p); err != nil {
		return nil, err
	}
	ch.Set("p", p)
	return nil, nil
}

func (h presenceHandler) AfterJoin(_ context.Context, ch *phx.Channel) error {
	p := ch.Value("p").(struct{ User, Tab string })
	if _, err := h.tr.Track(ch, p.User, map[string]string{"tab": p.Tab}); err != nil {
		return err
	}
	return h.tr.PushState(ch)
}

func (h presenceHandler) HandleIn(_ context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
	p := ch.Value("p").(struct{ User, Tab string })
	_, err := h.tr.Update(ch, p.User, msg.Payload)
	return phx.Ok(nil), err
}

// tabsOf renders a presence list as "key:tab,tab;…" sorted.
func tabsOf(st client.PresenceState) string {
	var parts []string
	for k, e := range st {
		var tabs []string
		for _, m := range e.Metas {
			var v struct{ Tab string }
			m.Decode(&v)
			tabs = append(tabs, v.Tab)
		}
		slices.Sort(tabs)
		parts = append(parts, fmt.Sprint(k, ":", tabs))
	}
	slices.Sort(parts)
	return fmt.Sprint(parts)
}

func TestPresenceAgainstServer(t *testing.T) {
	url := presenceServer(t)
	for _, tr := range []client.Transport{client.WebSocket, client.LongPoll} {
		t.Run(tr.String(), func(t *testing.T) {
			topic := "presence:" + tr.String()
			var mu sync.Mutex
			var joins, leaves []string
			sync1 := make(chan struct{}, 100)
			dial := func() *client.Socket {
				s, err := client.Dial(testCtx(t), url, integrationOptions(tr, nil))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			s1 := dial()
			ch1 := s1.Channel(topic, map[string]string{"user": "ann", "tab": "t1"})
			p := client.NewPresence(ch1, client.PresenceOptions{
				OnJoin: func(key string, _, _ *client.PresenceEntry) {
					mu.Lock()
					joins = append(joins, key)
					mu.Unlock()
				},
				OnLeave: func(key string, _, _ *client.PresenceEntry) {
					mu.Lock()
					leaves = append(leaves, key)
					mu.Unlock()
				},
				OnSync: func() {
					select {
					case sync1 <- struct{}{}:
					default:
					}
				},
			})
			if _, err := ch1.Join(testCtx(t)); err != nil {
				t.Fatal(err)
			}
			waitList := func(want string) {
				t.Helper()
				deadline := time.After(5 * time.Second)
				for tabsOf(p.List()) != want {
					select {
					case <-sync1:
					case <-deadline:
						t.Fatalf("list %s, want %s", tabsOf(p.List()), want)
					}
				}
			}
			waitList("[ann:[t1]]")
			s2 := dial()
			ch2, _, err := s2.Join(testCtx(t), topic, map[string]string{"user": "ann", "tab": "t2"})
			if err != nil {
				t.Fatal(err)
			}
			s3 := dial()
			ch3, _, err := s3.Join(testCtx(t), topic, map[string]string{"user": "bob", "tab": "b1"})
			if err != nil {
				t.Fatal(err)
			}
			waitList("[ann:[t1 t2] bob:[b1]]")
			mustPush(t, ch2, "update", map[string]string{"tab": "t2-away"})
			waitList("[ann:[t1 t2-away] bob:[b1]]")
			if err := ch3.Leave(testCtx(t)); err != nil {
				t.Fatal(err)
			}
			waitList("[ann:[t1 t2-away]]")
			mu.Lock()
			defer mu.Unlock()
			if !slices.Contains(leaves, "bob") || !slices.Contains(joins, "bob") {
				t.Fatalf("callbacks: joins %v leaves %v", joins, leaves)
			}
		})
	}
}
