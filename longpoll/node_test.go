package longpoll

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

// requireNode returns the node binary and the e2e directory holding the npm
// packages, skipping when either is missing outside CI.
func requireNode(t *testing.T) (node, e2e string) {
	t.Helper()
	node, err := exec.LookPath("node")
	e2e, _ = filepath.Abs(filepath.Join("..", "e2e"))
	_, statErr := os.Stat(filepath.Join(e2e, "node_modules", "phoenix", "package.json"))
	if err != nil || statErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node or e2e/node_modules/phoenix missing: %v %v", err, statErr)
		}
		t.Skipf("node or e2e/node_modules/phoenix missing: %v %v", err, statErr)
	}
	return node, e2e
}

// TestPhoenixJSLongPoll runs phoenix.js 1.8.16's LongPoll transport (fetch in
// Node 20): join, push/reply, 150 quick pushes in order in POSTs of 100 and
// 50 lines, then a dropped session: 410, reconnect, rejoin.
func TestPhoenixJSLongPoll(t *testing.T) {
	node, e2e := requireNode(t)

	ep := phx.NewEndpoint(phx.Config{Logger: quiet})
	var (
		mu        sync.Mutex
		seq       []int
		postLines []int
		authSeen  []string
	)
	drop := make(chan struct{}, 1)
	ep.Handle("room:*", phx.HandlerFuncs{
		JoinFunc: func(ctx context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
			return map[string]any{"transport": ch.ConnectInfo().Transport, "params": params}, nil
		},
		InFunc: func(ctx context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
			switch msg.Event {
			case "seq":
				var p struct{ I int }
				msg.Payload.Decode(&p)
				mu.Lock()
				seq = append(seq, p.I)
				mu.Unlock()
				return phx.Ok(map[string]int{"i": p.I}), nil
			case "drop":
				drop <- struct{}{}
				return nil, nil
			}
			return phx.Ok(phx.Raw(msg.Payload.Data)), nil
		},
	})
	lp := New(ep, Options{Logger: quiet, Connect: func(r *http.Request, info *phx.ConnectInfo) error {
		mu.Lock()
		authSeen = append(authSeen, info.AuthToken)
		mu.Unlock()
		return nil
	}})
	mount := handler.New(ep, handler.Options{LongPoll: lp, Logger: quiet})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if bytes.Contains(body, []byte(`"seq"`)) {
				mu.Lock()
				postLines = append(postLines, bytes.Count(body, []byte("\n"))+1)
				mu.Unlock()
			}
		}
		mount.ServeHTTP(w, r)
	}))
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		lp.Shutdown(ctx)
		ep.Shutdown(ctx)
		srv.Close()
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/lpclient.cjs", srv.URL+"/socket")
	cmd.Env = append(os.Environ(), "E2E_DIR="+e2e)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	events := map[string][]map[string]any{}
	lines := make(chan map[string]any)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var ev map[string]any
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Errorf("node printed %q", sc.Text())
				continue
			}
			lines <- ev
		}
	}()
	for {
		select {
		case ev, ok := <-lines:
			if !ok {
				goto done
			}
			name, _ := ev["event"].(string)
			events[name] = append(events[name], ev)
		case <-drop:
			// Drop every session as if it had been reaped.
			lp.mu.Lock()
			var all []*session
			for _, s := range lp.sessions {
				all = append(all, s)
			}
			lp.mu.Unlock()
			for _, s := range all {
				s.sess.Close(phx.ErrDisconnected)
			}
		}
	}
done:
	if err := cmd.Wait(); err != nil {
		t.Fatalf("node: %v; events %v", err, events)
	}

	if n := len(events["joined"]); n != 2 {
		t.Fatalf("joined %d times, want 2 (join + rejoin): %v", n, events)
	}
	wantJoin := map[string]any{"transport": "longpoll", "params": map[string]any{"hello": "join"}}
	if d := cmp.Diff(wantJoin, events["joined"][0]["resp"]); d != "" {
		t.Errorf("join reply (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]any{"hello": "world"}, events["echo"][0]["resp"]); d != "" {
		t.Errorf("echo (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]any{"after": "rejoin"}, events["echo2"][0]["resp"]); d != "" {
		t.Errorf("echo after rejoin (-want +got):\n%s", d)
	}
	var order []int
	for _, v := range events["seq"][0]["order"].([]any) {
		order = append(order, int(v.(float64)))
	}
	want := make([]int, 150)
	for i := range want {
		want[i] = i
	}
	if d := cmp.Diff(want, order); d != "" {
		t.Errorf("client reply order (-want +got):\n%s", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if d := cmp.Diff(want, seq); d != "" {
		t.Errorf("server order (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]int{100, 50}, postLines); d != "" {
		t.Errorf("POST sizes (-want +got):\n%s", d)
	}
	for _, a := range authSeen {
		if a != "tok-123" {
			t.Errorf("connect hook saw auth token %q", a)
		}
	}
	var sawGone bool
	for _, ev := range events["close"] {
		if ev["code"] == float64(3410) {
			sawGone = true
		}
	}
	if !sawGone {
		t.Errorf("no session_gone close (3410): %v", events["close"])
	}
	if !strings.Contains(func() string { b, _ := json.Marshal(events["socket_error"]); return string(b) }(), "410") {
		t.Errorf("no 410 socket error: %v", events["socket_error"])
	}
}
