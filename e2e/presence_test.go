package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/seance-go/seance/cluster"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/presence"
)

// registerPresence routes "presence:*" to a channel tracked by a presence
// Tracker on every node's registry (closed when the test ends, after the
// registries' shutdown), and serves GET /presence?topic=… with the topic's
// list as the first node sees it. ms holds the nodes' memberships when the
// server is a cluster (the trackers then replicate through them).
func registerPresence(t *testing.T, s *conformanceServer, regs []*livestate.Registry, ms []*cluster.Membership) {
	var first *presence.Tracker
	for i, reg := range regs {
		opts := presence.Options{Interval: 20 * time.Millisecond}
		if ms != nil {
			opts.Cluster = ms[i]
		}
		tr := presence.New(reg.Endpoint(), opts)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := tr.Close(ctx); err != nil {
				t.Errorf("presence Close: %v", err)
			}
		})
		reg.Handle("presence:*", presenceChannel{tr})
		if first == nil {
			first = tr
		}
	}
	s.mux.HandleFunc("GET /presence", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(first.List(r.URL.Query().Get("topic")))
	})
}

// presenceChannel tracks its client under the "user" join param with meta
// {"tab": …} (no user: a watcher, not tracked) and pushes the
// presence_state after the join. "update" replaces the meta with the
// payload, "untrack" removes it.
type presenceChannel struct{ tr *presence.Tracker }

type presenceParams struct {
	User string `json:"user"`
	Tab  string `json:"tab"`
}

func (presenceChannel) Join(_ context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
	var p presenceParams
	if err := params.Decode(&p); err != nil {
		return nil, &phx.JoinError{Response: map[string]any{"reason": "bad params"}}
	}
	ch.Set("user", p)
	return nil, nil
}

func (c presenceChannel) AfterJoin(_ context.Context, ch *phx.Channel) error {
	p := ch.Value("user").(presenceParams)
	if p.User != "" {
		if _, err := c.tr.Track(ch, p.User, map[string]string{"tab": p.Tab}); err != nil {
			return err
		}
	}
	return c.tr.PushState(ch)
}

func (c presenceChannel) HandleIn(_ context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
	p := ch.Value("user").(presenceParams)
	switch msg.Event {
	case "update":
		ref, err := c.tr.Update(ch, p.User, msg.Payload)
		if err != nil {
			return nil, err
		}
		return phx.Ok(map[string]string{"ref": ref}), nil
	case "untrack":
		return phx.Ok(nil), c.tr.Untrack(ch, p.User)
	}
	return phx.Err(map[string]string{"reason": "unknown event"}), nil
}
