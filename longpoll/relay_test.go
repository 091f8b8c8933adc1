package longpoll

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seance-go/seance/cluster"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/internal/membus"
	"github.com/seance-go/seance/phx"
)

// clusterFixture starts one endpoint, long-poll handler and cluster node per
// name on one in-memory bus, with the same secret; fixtures[i].url serves
// node i.
func clusterFixture(t *testing.T, relayTimeout time.Duration, names ...string) (*membus.Bus, []*fixture) {
	t.Helper()
	bus := membus.New()
	var out []*fixture
	for _, name := range names {
		f := &fixture{t: t, ch: newTestChannel(), released: make(chan struct{}, 100)}
		f.ep = phx.NewEndpoint(phx.Config{Logger: quiet, PubSub: bus.Node(name)})
		f.ep.Handle("room:*", f.ch)
		node := cluster.New(f.ep, cluster.Options{RelayTimeout: relayTimeout, Logger: quiet})
		f.lp = New(f.ep, Options{Logger: quiet, Secret: []byte("the same secret on every node...."), Cluster: node, PollTimeout: time.Second})
		f.lp.onRelease = func() { f.released <- struct{}{} }
		mux := http.NewServeMux()
		mux.Handle("/socket/", handler.New(f.ep, handler.Options{LongPoll: f.lp, Logger: quiet}))
		f.srv = httptest.NewServer(mux)
		f.url = f.srv.URL + "/socket/longpoll"
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := f.ep.Shutdown(ctx); err != nil {
				t.Errorf("endpoint shutdown: %v", err)
			}
			if err := f.lp.Shutdown(ctx); err != nil {
				t.Errorf("longpoll shutdown: %v", err)
			}
			if err := node.Close(ctx); err != nil {
				t.Errorf("node close: %v", err)
			}
			f.srv.Close()
		})
		out = append(out, f)
	}
	return bus, out
}

// A session made on node a is served on node b: POSTs and GETs that reach b
// are relayed to a and answered with a's reply. When a is gone, b answers
// as for an expired session: a GET opens a session on b, a POST gets 410.
func TestRelay(t *testing.T) {
	bus, fs := clusterFixture(t, 300*time.Millisecond, "a", "b")
	a, b := fs[0], fs[1]

	tok := a.open("vsn=2.0.0")
	if _, owner, ok := a.lp.tokens.verifyOwner(tok); !ok || owner != "a" {
		t.Fatalf("token owner %q, %v; want a", owner, ok)
	}
	join := `["1","1","room:x","phx_join",{}]`
	if r := b.do(http.MethodPost, b.url+"?vsn=2.0.0&token="+url.QueryEscape(tok), ndjson(), join+"\n"+`["1","2","room:x","echo",{"hi":1}]`); r.Status != 200 {
		t.Fatalf("POST via b = %+v", r)
	}
	if got := <-a.ch.joins; got != "room:x" {
		t.Fatalf("joined %q on a", got)
	}
	var msgs []string
	for len(msgs) < 2 {
		r := b.get(tok)
		if r.Status != 200 && r.Status != 204 {
			t.Fatalf("GET via b = %+v", r)
		}
		if r.Token == nil || *r.Token != tok {
			t.Fatalf("GET via b changed the token: %+v", r)
		}
		msgs = append(msgs, r.Messages...)
	}
	if !strings.Contains(msgs[0], `"phx_reply"`) || !strings.Contains(msgs[1], `{"hi":1}`) {
		t.Errorf("messages via b: %q", msgs)
	}
	if n := b.lp.Sessions(); n != 0 {
		t.Errorf("b holds %d sessions, want 0 (they live on a)", n)
	}

	// Node a dies.
	bus.Lookup("a").Cut()
	if r := b.do(http.MethodPost, b.url+"?vsn=2.0.0&token="+url.QueryEscape(tok), ndjson(), `[null,"3","phoenix","heartbeat",{}]`); r.Status != 410 {
		t.Errorf("POST for a dead owner = %+v, want 410", r)
	}
	r := b.get(tok)
	if r.Status != 410 || r.Token == nil {
		t.Fatalf("GET for a dead owner = %+v, want 410 with a new token", r)
	}
	if _, owner, _ := b.lp.tokens.verifyOwner(*r.Token); owner != "b" {
		t.Errorf("new session owned by %q, want b", owner)
	}
	if n := b.lp.Sessions(); n != 1 {
		t.Errorf("b holds %d sessions, want the new one", n)
	}
}

// A session that ended on its owner is gone for every node: 410.
func TestRelaySessionGone(t *testing.T) {
	_, fs := clusterFixture(t, time.Second, "a", "b")
	a, b := fs[0], fs[1]
	tok := a.open("vsn=2.0.0")
	a.lp.mu.Lock()
	for _, s := range a.lp.sessions {
		s.sess.Close(phx.ErrDisconnected)
	}
	a.lp.mu.Unlock()
	<-a.released
	if r := b.do(http.MethodPost, b.url+"?vsn=2.0.0&token="+url.QueryEscape(tok), ndjson(), `[null,"1","phoenix","heartbeat",{}]`); r.Status != 410 {
		t.Errorf("POST = %+v, want 410", r)
	}
	if r := b.get(tok); r.Status != 410 || r.Token == nil || *r.Token == tok {
		t.Errorf("GET = %+v, want 410 with a new token", r)
	}
}
