package e2e

import (
	"cmp"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seance-go/seance/handler"
)

// defaultChromium is Debian's chromium (apt-get install chromium);
// SEANCE_CHROMIUM overrides it.
const defaultChromium = "/usr/bin/chromium"

// browserClients are the client builds the browser page loads: the npm
// (alias) directory, the esbuild entry, and which shared scenario table
// (conformance/scenarios/<suite>.mjs) they run.
var browserClients = []struct {
	pkg, entry, suite string
	authToken         bool // phoenix ≥ 1.8: Socket option authToken
}{
	{"phoenix17", "browser/entries/phoenix17.mjs", "phoenix", false},
	{"phoenix", "browser/entries/phoenix.mjs", "phoenix", true},
	{"phx-live-state-011", "conformance/entries/phx-live-state-011.mjs", "livestate", false},
	{"phx-live-state", "conformance/entries/phx-live-state.mjs", "livestate", false},
}

// browserConfig is /browser/config.json, read by browser/runner.mjs.
type browserConfig struct {
	Socket        string          `json:"socket"`
	LimitedSocket string          `json:"limitedSocket"`
	Clients       []browserClient `json:"clients"`
}

type browserClient struct {
	Name      string `json:"name"`
	Suite     string `json:"suite"`
	Module    string `json:"module"` // relative to the page
	AuthToken bool   `json:"authToken"`
}

// TestBrowserConformance runs the shared conformance scenarios in headless
// Chromium: the page, served from the socket's own origin, loads browser
// bundles of phoenix 1.7/1.8 and phx-live-state 0.11/0.12 and runs the
// scenarios with the browser's WebSocket, then (once <mount>/longpoll is
// served) with phoenix.js's LongPoll — the only place phoenix 1.7's
// long-poll can run. Transports: SEANCE_TRANSPORTS, default both.
func TestBrowserConformance(t *testing.T) {
	testBrowserConformance(t, 1, handler.Compression{})
}

// TestBrowserConformanceCluster runs them against three cluster nodes
// behind a round robin that sends each request to the next node (no sticky
// sessions): phoenix 1.7 and 1.8 long-poll in Chromium with every request
// of a session possibly relayed to its owner.
func TestBrowserConformanceCluster(t *testing.T) {
	testBrowserConformance(t, 3, handler.Compression{})
}

// TestBrowserConformanceCompressed runs the WebSocket leg with
// permessage-deflate on, which Chromium offers: with a threshold of one
// byte, every message that compression shrinks goes out compressed.
func TestBrowserConformanceCompressed(t *testing.T) {
	t.Setenv("SEANCE_TRANSPORTS", "websocket")
	testBrowserConformance(t, 1, handler.Compression{Enabled: true, Threshold: 1})
}

func testBrowserConformance(t *testing.T, nodes int, z handler.Compression) {
	t.Helper()
	node := requireNode(t, "playwright-core")
	chromium := requireChromium(t)
	transports := browserTransports(t)
	srv := newConformanceServerWith(t, nodes, z)

	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
	defer cancel()
	serveBrowserPage(t, srv, buildBrowserBundles(t, ctx))

	ran := false
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			if transport == "longpoll" && !longPollWired(t, ctx, srv.srv.URL+socketPath) {
				t.Skip("long-poll not wired yet")
			}
			ran = true
			page := srv.srv.URL + "/browser/?transport=" + transport
			runNode(t, ctx, node, []string{filepath.Join("browser", "run.mjs"), page}, "SEANCE_CHROMIUM="+chromium)
		})
	}
	if ran && !t.Failed() {
		checkTokens(t, srv)
	}
}

// requireChromium returns the Chromium executable, or skips (fails under
// CI=true) when it is absent.
func requireChromium(t *testing.T) string {
	t.Helper()
	path := cmp.Or(os.Getenv("SEANCE_CHROMIUM"), defaultChromium)
	if _, err := exec.LookPath(path); err != nil {
		missingTool(t, path+" is not installed (apt-get install chromium)")
	}
	return path
}

// browserTransports are the transports of SEANCE_TRANSPORTS, or both: the
// browser leg is where long-poll runs for every client.
func browserTransports(t *testing.T) []string {
	t.Helper()
	env := os.Getenv("SEANCE_TRANSPORTS")
	if env == "" {
		return []string{"websocket", "longpoll"}
	}
	var out []string
	for _, tr := range strings.Split(env, ",") {
		tr = strings.TrimSpace(tr)
		if tr == "" {
			continue
		}
		if tr != "websocket" && tr != "longpoll" {
			t.Fatalf("SEANCE_TRANSPORTS: unknown transport %q", tr)
		}
		if !slices.Contains(out, tr) {
			out = append(out, tr)
		}
	}
	return out
}

// buildBrowserBundles bundles each client build (once per version) and the
// runner (every time: it imports the shared scenario files) into
// dist/browser/, and returns the page's configuration.
func buildBrowserBundles(t *testing.T, ctx context.Context) browserConfig {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("dist", "browser"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := browserConfig{Socket: socketPath, LimitedSocket: limitedSocketPath}
	for _, c := range browserClients {
		name, version := npmPackage(t, c.pkg)
		file := name + "-" + version + ".js"
		esbuild(t, ctx, c.entry, filepath.Join(dir, file), "browser", false)
		cfg.Clients = append(cfg.Clients, browserClient{
			Name: name + " " + version, Suite: c.suite, Module: "dist/" + file, AuthToken: c.authToken,
		})
	}
	esbuild(t, ctx, filepath.Join("browser", "runner.mjs"), filepath.Join(dir, "runner.js"), "browser", true,
		"--alias:node:assert/strict=./browser/assert.mjs")
	return cfg
}

// serveBrowserPage adds the page (/browser/), its bundles (/browser/dist/)
// and its configuration (/browser/config.json) to the test server.
func serveBrowserPage(t *testing.T, srv *conformanceServer, cfg browserConfig) {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Handle("GET /browser/{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join("browser", "index.html"))
	}))
	srv.Handle("GET /browser/config.json", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(raw)
	}))
	srv.Handle("GET /browser/dist/", http.StripPrefix("/browser/dist/",
		http.FileServerFS(os.DirFS(filepath.Join("dist", "browser")))))
}

// longPollWired reports whether the socket mount serves long-poll: a GET
// without a session token answers {"status":410,…} (a new session).
func longPollWired(t *testing.T, ctx context.Context, mount string) bool {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, mount+"/longpoll?vsn=2.0.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Close = true // no idle keep-alive connection left for goleak
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("probing %s/longpoll: %v", mount, err)
	}
	defer res.Body.Close()
	var body struct {
		Status int `json:"status"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<16)).Decode(&body); err != nil {
		return false
	}
	return body.Status == http.StatusGone
}

// TestLongPollProbe checks the probe that decides whether the browser leg's
// long-poll run is skipped: only a long-poll answer (status 410, a new
// session) counts as wired.
func TestLongPollProbe(t *testing.T) {
	cases := map[string]struct {
		handler http.HandlerFunc
		want    bool
	}{
		"not served": {http.NotFound, false},
		"new session": {func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `{"status":410,"token":"t","messages":[]}`)
		}, true},
		"other JSON": {func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `{"status":403}`)
		}, false},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(c.handler)
			defer srv.Close()
			if got := longPollWired(t, context.Background(), srv.URL+socketPath); got != c.want {
				t.Errorf("longPollWired = %v, want %v", got, c.want)
			}
		})
	}
}
