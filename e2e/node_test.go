package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// nodeTimeout bounds the whole Node run; a phoenix.js socket left open would
// otherwise keep Node alive forever.
const nodeTimeout = 3 * time.Minute

// liveStateBundles are the phx-live-state versions under test: the npm
// (alias) name and the esbuild entry that re-exports its LiveState class.
var liveStateBundles = []struct{ pkg, entry string }{
	{"phx-live-state", "conformance/entries/phx-live-state.mjs"},
	{"phx-live-state-011", "conformance/entries/phx-live-state-011.mjs"},
}

// requireNode skips (or, under CI=true, fails) when node or the npm
// dependencies are missing, and returns the node executable.
func requireNode(t *testing.T) string {
	t.Helper()
	missing := func(what string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s; CI=true, so this is a failure (run `npm ci` in e2e/)", what)
		}
		t.Skipf("%s; skipping the Node conformance suite", what)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	for _, dep := range []string{"phoenix", "phoenix17", "phx-live-state", "phx-live-state-011", "ws", "esbuild"} {
		if _, err := os.Stat(filepath.Join("node_modules", dep, "package.json")); err != nil {
			missing("e2e/node_modules/" + dep + " is missing")
		}
	}
	return node
}

// buildBundles bundles each phx-live-state version for Node (its published
// ESM imports directories, which Node refuses) into dist/, once per version,
// and returns [{name, path}] for the Node suite.
func buildBundles(t *testing.T, ctx context.Context) []map[string]string {
	t.Helper()
	var out []map[string]string
	for _, b := range liveStateBundles {
		raw, err := os.ReadFile(filepath.Join("node_modules", b.pkg, "package.json"))
		if err != nil {
			t.Fatal(err)
		}
		var pkg struct{ Version string }
		if err := json.Unmarshal(raw, &pkg); err != nil {
			t.Fatalf("%s/package.json: %v", b.pkg, err)
		}
		dst, err := filepath.Abs(filepath.Join("dist", "lvs-"+pkg.Version+".mjs"))
		if err != nil {
			t.Fatal(err)
		}
		if stale(dst, b.entry) {
			cmd := exec.CommandContext(ctx, filepath.Join("node_modules", ".bin", "esbuild"), b.entry,
				"--bundle", "--platform=node", "--format=esm", "--log-level=warning", "--outfile="+dst)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("esbuild %s: %v\n%s", b.entry, err, msg)
			}
		}
		out = append(out, map[string]string{"name": "phx-live-state " + pkg.Version, "path": dst})
	}
	return out
}

// stale reports whether dst is missing or older than src.
func stale(dst, src string) bool {
	d, err := os.Stat(dst)
	if err != nil {
		return true
	}
	s, err := os.Stat(src)
	return err != nil || s.ModTime().After(d.ModTime())
}

// TestNodeConformance runs the official JavaScript clients (phoenix 1.7 and
// 1.8, phx-live-state 0.11 and 0.12) against the Go server: every scenario of
// conformance/*.test.mjs, for every transport in SEANCE_TRANSPORTS
// (default "websocket").
func TestNodeConformance(t *testing.T) {
	node := requireNode(t)
	srv := newConformanceServer(t)

	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
	defer cancel()
	bundles, err := json.Marshal(buildBundles(t, ctx))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("conformance", "*.test.mjs"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no conformance/*.test.mjs files (%v)", err)
	}

	args := append([]string{"--test", "--test-reporter=spec"}, files...)
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Env = append(os.Environ(),
		"SEANCE_URL="+srv.URL(),
		"SEANCE_LIMITED_URL="+srv.LimitedURL(),
		"SEANCE_HTTP="+srv.srv.URL,
		"SEANCE_LVS_BUNDLES="+string(bundles),
		"NODE_NO_WARNINGS=1",
	)
	out := &lineLogger{t: t}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	out.flush()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("node did not finish within %v", nodeTimeout)
	}
	if err != nil {
		t.Fatalf("node --test failed: %v", err)
	}

	// The phoenix 1.8 authToken scenarios must have reached the connect
	// hook through the WebSocket subprotocol (or the long-poll header).
	tokens := srv.Tokens()
	for _, want := range []string{validToken, "wrong-token"} {
		if !slices.Contains(tokens, want) {
			t.Errorf("the connect hook never saw the auth token %q (saw %q)", want, tokens)
		}
	}
}

// lineLogger forwards a process's output to t.Log line by line.
type lineLogger struct {
	t   *testing.T
	mu  sync.Mutex
	buf []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.t.Log(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
}

func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.t.Log(string(l.buf))
		l.buf = nil
	}
}
