package clustertest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seance-go/seance/client"
	chistory "github.com/seance-go/seance/client/history"
	"github.com/seance-go/seance/internal/cuttest"
)

// Switch is a reverse proxy to one node at a time, which the test moves
// to another node, with the clients' WebSocket connections cut by Cut
// (cuttest): a client cut off reconnects to the node the proxy then
// points at.
type Switch struct {
	*httptest.Server
	cut    cuttest.Cutter
	target atomic.Pointer[httputil.ReverseProxy]
}

// NewSwitch starts a Switch to p, closed at the end of the test.
func NewSwitch(t *testing.T, p *Proc) *Switch {
	t.Helper()
	s := &Switch{}
	s.To(t, p)
	s.Server = httptest.NewServer(s.cut.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.target.Load().ServeHTTP(w, r)
	})))
	t.Cleanup(s.Server.Close)
	return s
}

// To sends the next requests and connections to p.
func (s *Switch) To(t *testing.T, p *Proc) {
	u, err := url.Parse(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = nil
	s.target.Store(rp)
}

// Cut resets the client's connections (no close frame) and refuses its
// requests until Release.
func (s *Switch) Cut(id string) { s.cut.Cut(id, time.Hour) }

// Release lets the client connect again.
func (s *Switch) Release(id string) { s.cut.Cut(id, 0) }

// PublishHistory publishes "msg" {"i": from} … {"i": from+n-1} on a
// "hist:*" topic through p (POST /history/publish).
func (p *Proc) PublishHistory(t *testing.T, topic string, from, n int) {
	t.Helper()
	var out struct{ Error string }
	if st := p.Post(t, fmt.Sprintf("/history/publish?topic=%s&from=%d&n=%d", url.QueryEscape(topic), from, n), &out); st != http.StatusOK {
		t.Fatalf("%s /history/publish: HTTP %d %s", p.Name, st, out.Error)
	}
}

// goStream is a Go client (client/history) on a tracked topic.
type goStream struct {
	st        *chistory.Stream
	recovered chan bool

	mu  sync.Mutex
	got []int
}

func dialStream(t *testing.T, ctx context.Context, url, id, topic string) *goStream {
	t.Helper()
	fast := func(int) time.Duration { return 50 * time.Millisecond }
	s, err := client.Dial(ctx, url+"/socket", &client.Options{HeartbeatInterval: -1, ClientID: id, ReconnectAfter: fast, RejoinAfter: fast})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	g := &goStream{st: chistory.New(s, topic, nil), recovered: make(chan bool, 8)}
	g.st.Channel().On("msg", func(m client.Message) {
		var p struct{ I int }
		_ = m.Decode(&p)
		g.mu.Lock()
		g.got = append(g.got, p.I)
		g.mu.Unlock()
	})
	g.st.OnRecovery(func(ok bool) { g.recovered <- ok })
	if _, err := g.st.Channel().Join(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the Go client's position", func() bool { _, ok := g.st.Position(); return ok })
	return g
}

// waitFor waits until the client has n messages and checks they are
// 1…n, in order, once.
func (g *goStream) waitFor(t *testing.T, n int) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%d messages in the Go client", n), func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return len(g.got) >= n
	})
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.got) != n {
		t.Fatalf("the Go client got %d messages, want %d", len(g.got), n)
	}
	for i, v := range g.got {
		if v != i+1 {
			t.Fatalf("the Go client's message %d is %d: not in order or duplicated", i+1, v)
		}
	}
}

func (g *goStream) recovery(t *testing.T) bool {
	t.Helper()
	select {
	case ok := <-g.recovered:
		return ok
	case <-time.After(Wait):
		t.Fatal("the Go client was never told whether it recovered")
		return false
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, Wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runHistoryScript runs testdata/history.cjs: phoenix.js (package pkg) in
// Node on topic through url, as client "js". Without node or the e2e
// packages the test is skipped, unless CI=true, where it fails.
func runHistoryScript(t *testing.T, url, topic, pkg string) *Script {
	t.Helper()
	node, e2e := requireTools(t, "", pkg, "ws")
	return runNode(t, node, []string{filepath.Join(here(), "testdata", "history.cjs"), url + "/socket", topic, pkg}, "E2E_DIR="+e2e)
}

// HistoryRecovery: a Go client (client/history) and a phoenix.js client
// in Node, both on node n1 through a switching proxy, are cut off (a TCP
// reset) while 1,000 broadcasts go out from n1; they reconnect to n2 and
// recover all of them, in order, once, before the live ones. The nodes
// must run with -history broker.
func HistoryRecovery(t *testing.T, n1, n2 *Proc) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*Wait)
	defer cancel()
	const topic = "hist:recovery"
	sw := NewSwitch(t, n1)
	g := dialStream(t, ctx, sw.URL, "go", topic)
	js := runHistoryScript(t, sw.URL, topic, "phoenix")
	if j := js.Expect("joined", nil); j.Str("node") != n1.Name {
		t.Fatalf("phoenix.js joined on %s, want %s", j.Str("node"), n1.Name)
	}
	js.Expect("position", nil)

	// Live, from the other node.
	n2.PublishHistory(t, topic, 1, 5)
	g.waitFor(t, 5)
	expectJS(t, js, 1, 5)

	// Cut off from n1 while 1,000 broadcasts go out from it; back on n2.
	sw.To(t, n2)
	sw.Cut("go")
	sw.Cut("js")
	n1.PublishHistory(t, topic, 6, 1000)
	sw.Release("go")
	sw.Release("js")
	if !g.recovery(t) {
		t.Fatal("the Go client was told it did not recover")
	}
	if j := js.Expect("joined", nil); j.Str("node") != n2.Name {
		t.Fatalf("phoenix.js rejoined on %s, want %s", j.Str("node"), n2.Name)
	}
	if p := js.Expect("position", nil); p["recovered"] != true {
		t.Fatalf("phoenix.js was told %v, want recovered", p)
	}
	n1.PublishHistory(t, topic, 1006, 1) // live again
	g.waitFor(t, 1006)
	expectJS(t, js, 6, 1006)
	if pos, _ := g.st.Position(); pos.Offset == 0 || pos.Epoch == "" {
		t.Errorf("the Go client's position %+v", pos)
	}
}

// expectJS checks the phoenix.js client's messages from … to, in order.
func expectJS(t *testing.T, js *Script, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		if m := js.Expect("msg", nil); m.Num("i") != i {
			t.Fatalf("phoenix.js message %d is %d: not in order or duplicated", i, m.Num("i"))
		}
	}
}

// HistoryNotRecovered: a Go client cut off from n1 and back on n2 is told
// {"recovered": false} when the stream was trimmed beyond its position
// (more than the nodes' 1,000 entries missed) and when the stream was
// lost (lose deletes topic's stream in the broker: a new epoch). The nodes
// must run with -history broker.
func HistoryNotRecovered(t *testing.T, n1, n2 *Proc, lose func(topic string)) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*Wait)
	defer cancel()
	for _, tc := range []struct {
		name, topic string
		missed      func(topic string)
	}{
		{"trimmed", "hist:trimmed", func(topic string) { n1.PublishHistory(t, topic, 2, 1100) }},
		{"lost", "hist:lost", func(topic string) {
			lose(topic)
			n1.PublishHistory(t, topic, 2, 3)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sw := NewSwitch(t, n1)
			g := dialStream(t, ctx, sw.URL, "go", tc.topic)
			n1.PublishHistory(t, tc.topic, 1, 1)
			g.waitFor(t, 1)
			sw.To(t, n2)
			sw.Cut("go")
			tc.missed(tc.topic)
			sw.Release("go")
			if g.recovery(t) {
				t.Fatal("the Go client was told it recovered")
			}
			// It goes on from the stream's position: live messages flow.
			n1.PublishHistory(t, tc.topic, 5000, 1)
			waitUntil(t, "a live message after the failed recovery", func() bool {
				g.mu.Lock()
				defer g.mu.Unlock()
				return g.got[len(g.got)-1] == 5000
			})
		})
	}
}
