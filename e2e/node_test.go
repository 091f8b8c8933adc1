package e2e

import (
	"bytes"
	"cmp"
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

	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/internal/testenv"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// One line: the Node suite needs node and the npm packages, the browser
	// suite Chromium as well.
	if miss := testenv.Missing("node_modules", "", "phoenix", "phoenix17", "phx-live-state", "phx-live-state-011", "ws", "esbuild", "playwright-core"); miss != "" {
		testenv.Announce("e2e TestNodeConformance and TestBrowserConformance (phoenix.js and phx-live-state against this server)", miss)
	} else {
		testenv.Announce("e2e TestBrowserConformance (the JS clients in Chromium)",
			testenv.Missing("node_modules", cmp.Or(os.Getenv("SEANCE_CHROMIUM"), defaultChromium)))
	}
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

// missingTool skips the test because a tool it needs is absent, or fails it
// when CI=true (where every tool must be installed).
func missingTool(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; CI=true, so this is a failure", what)
	}
	t.Skipf("%s; skipping", what)
}

// requireNode skips (or, under CI=true, fails) when node or the npm
// dependencies (those of the Node suite, plus extra) are missing, and returns
// the node executable.
func requireNode(t *testing.T, extra ...string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		missingTool(t, "node is not installed")
	}
	deps := append([]string{"phoenix", "phoenix17", "phx-live-state", "phx-live-state-011", "ws", "esbuild"}, extra...)
	for _, dep := range deps {
		if _, err := os.Stat(filepath.Join("node_modules", dep, "package.json")); err != nil {
			missingTool(t, "e2e/node_modules/"+dep+" is missing (run `npm ci` in e2e/)")
		}
	}
	return node
}

// npmPackage reads the name and version of an installed npm package (or
// alias: node_modules/phoenix17 is named "phoenix").
func npmPackage(t *testing.T, dir string) (name, version string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("node_modules", dir, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct{ Name, Version string }
	if err := json.Unmarshal(raw, &pkg); err != nil {
		t.Fatalf("%s/package.json: %v", dir, err)
	}
	return pkg.Name, pkg.Version
}

// esbuild bundles entry into dst (absolute) with the given platform and
// extra flags, unless dst is newer than entry and force is false.
func esbuild(t *testing.T, ctx context.Context, entry, dst, platform string, force bool, flags ...string) {
	t.Helper()
	if !force && !stale(dst, entry) {
		return
	}
	args := append([]string{entry, "--bundle", "--platform=" + platform, "--format=esm",
		"--log-level=warning", "--outfile=" + dst}, flags...)
	cmd := exec.CommandContext(ctx, filepath.Join("node_modules", ".bin", "esbuild"), args...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("esbuild %s: %v\n%s", entry, err, msg)
	}
}

// buildBundles bundles each phx-live-state version for Node (its published
// ESM imports directories, which Node refuses) into dist/, once per version,
// and returns [{name, path}] for the Node suite.
func buildBundles(t *testing.T, ctx context.Context) []map[string]string {
	t.Helper()
	var out []map[string]string
	for _, b := range liveStateBundles {
		_, version := npmPackage(t, b.pkg)
		dst, err := filepath.Abs(filepath.Join("dist", "lvs-"+version+".mjs"))
		if err != nil {
			t.Fatal(err)
		}
		esbuild(t, ctx, b.entry, dst, "node", false)
		out = append(out, map[string]string{"name": "phx-live-state " + version, "path": dst})
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
// conformance/*.test.mjs over both transports (SEANCE_TRANSPORTS in the
// environment narrows it, SEANCE_TEST_PATTERN selects scenarios by name).
func TestNodeConformance(t *testing.T) {
	testNodeConformance(t, newConformanceServer(t))
}

// TestNodeConformanceCluster runs the same suite against three cluster
// nodes behind a round robin that sends each request to the next node, as
// a load balancer without sticky sessions: every long-poll request of a
// session may reach another node than its owner and is relayed.
func TestNodeConformanceCluster(t *testing.T) {
	testNodeConformance(t, newClusterConformanceServer(t, 3))
}

// TestNodeConformanceCompressed runs the suite over WebSocket with
// permessage-deflate on, which the ws package offers by default: with a
// threshold of one byte, every message that compression shrinks goes out
// compressed.
func TestNodeConformanceCompressed(t *testing.T) {
	t.Setenv("SEANCE_TRANSPORTS", "websocket")
	testNodeConformance(t, newConformanceServerWith(t, 1, handler.Compression{Enabled: true, Threshold: 1}))
}

func testNodeConformance(t *testing.T, srv *conformanceServer) {
	t.Helper()
	node := requireNode(t)

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

	args := []string{"--test", "--test-reporter=spec"}
	if p := os.Getenv("SEANCE_TEST_PATTERN"); p != "" {
		args = append(args, "--test-name-pattern="+p) // a subset while working on it
	}
	args = append(args, files...)
	runNode(t, ctx, node, args,
		"SEANCE_URL="+srv.URL(),
		"SEANCE_LIMITED_URL="+srv.LimitedURL(),
		"SEANCE_BLOCKED_URL="+srv.BlockedURL(),
		"SEANCE_TRANSPORTS="+transports(),
		"SEANCE_HTTP="+srv.srv.URL,
		"SEANCE_LVS_BUNDLES="+string(bundles),
	)
	if os.Getenv("SEANCE_TEST_PATTERN") == "" {
		checkTokens(t, srv)
	}
}

// transports are the transports the Node suite runs: SEANCE_TRANSPORTS when
// set, else both.
func transports() string {
	if v := os.Getenv("SEANCE_TRANSPORTS"); v != "" {
		return v
	}
	return "websocket,longpoll"
}

// runNode runs node with args and env added to its environment, streaming its output to t.Log, and fails the test if it
// fails or outlives ctx.
func runNode(t *testing.T, ctx context.Context, node string, args []string, env ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Env = append(os.Environ(), "NODE_NO_WARNINGS=1")
	cmd.Env = append(cmd.Env, env...)
	out := &lineLogger{t: t}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	out.flush()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("node %s did not finish in time", args[0])
	}
	if err != nil {
		t.Fatalf("node %s failed: %v", args[0], err)
	}
}

// checkTokens fails the test unless the phoenix 1.8 authToken scenarios
// reached the connect hook (through the WebSocket subprotocol or the
// long-poll header) with both the valid and the wrong token.
func checkTokens(t *testing.T, srv *conformanceServer) {
	t.Helper()
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
