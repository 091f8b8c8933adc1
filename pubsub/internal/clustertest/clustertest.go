// Package clustertest is the test kit for several seance-node processes
// behind a round-robin reverse proxy: it builds and runs the nodes, proxies
// requests to them in turn, and runs the phoenix.js cluster scenario
// (testdata/scenario.mjs) against them, in Node or in headless Chromium.
// The Redis and NATS seance-node commands share it.
package clustertest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seance-go/seance/internal/testenv"
)

// Wait bounds every wait of the kit.
const Wait = 30 * time.Second

// Build compiles the command in the current directory into dir.
func Build(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "seance-node")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Proc is one seance-node process.
type Proc struct {
	Name string
	URL  string // http://host:port

	cmd    *exec.Cmd
	logs   *syncBuffer
	done   chan error
	killed atomic.Bool
}

// Start runs bin with -addr 127.0.0.1:0 -node name and args, and returns
// once it listens. At the end of the test a process that was not killed
// must shut down gracefully on SIGTERM.
func Start(t *testing.T, bin, name string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Name: name, logs: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-node", name}, args...)...)
	p.cmd.Stderr = p.logs
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "seance-node: listening on "); ok {
				listening <- u
			}
		}
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		if p.killed.Load() {
			<-p.done
			return
		}
		select {
		case err := <-p.done:
			t.Errorf("%s exited early: %v", name, err)
		default:
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-p.done:
				if err != nil {
					t.Errorf("%s shutdown: %v", name, err)
				}
			case <-time.After(Wait):
				_ = p.cmd.Process.Kill()
				<-p.done
				t.Errorf("%s did not shut down on SIGTERM", name)
			}
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", name, p.logs.String())
		}
	})
	select {
	case p.URL = <-listening:
	case err := <-p.done:
		t.Fatalf("%s exited: %v\n%s", name, err, p.logs.String())
	case <-time.After(Wait):
		t.Fatalf("%s did not start\n%s", name, p.logs.String())
	}
	return p
}

// Kill ends the process at once (SIGKILL), as a crashed node.
func (p *Proc) Kill() {
	p.killed.Store(true)
	_ = p.cmd.Process.Kill()
}

// Alive reports whether the process is still running.
func (p *Proc) Alive() bool { return !p.killed.Load() }

// Post posts to path (with query) and decodes the JSON answer into out.
func (p *Proc) Post(t *testing.T, path string, out any) int {
	t.Helper()
	resp, err := http.Post(p.URL+path, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("%s POST %s: %v", p.Name, path, err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s POST %s: %v", p.Name, path, err)
		}
	}
	return resp.StatusCode
}

// Get fetches path and decodes the JSON answer into out.
func (p *Proc) Get(t *testing.T, path string, out any) {
	t.Helper()
	resp, err := http.Get(p.URL + path)
	if err != nil {
		t.Fatalf("%s GET %s: %v", p.Name, path, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("%s GET %s: %v", p.Name, path, err)
	}
}

// Broadcast posts body to /broadcast?topic=topic&event=event and returns
// the HTTP status.
func (p *Proc) Broadcast(t *testing.T, topic, event, body string) int {
	t.Helper()
	resp, err := http.Post(p.URL+"/broadcast?topic="+topic+"&event="+event, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s /broadcast: %v", p.Name, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// WaitResumed broadcasts events "after0", "after1", … on topic from node
// from until client to receives one of them, failing after Wait: after a
// broker outage it proves broadcasts cross nodes again.
func WaitResumed(t *testing.T, from *Proc, to *Client, topic string) {
	t.Helper()
	deadline := time.Now().Add(Wait)
	for i := 0; ; i++ {
		from.Broadcast(t, topic, fmt.Sprintf("after%d", i), `{}`)
		select {
		case f := <-to.Frames:
			if f.Topic == topic && strings.HasPrefix(f.Event, "after") {
				return
			}
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("broadcasts on %s from %s did not resume", topic, from.Name)
		}
	}
}

// Proxy is a reverse proxy that sends each request to the next live node
// in turn, as a round-robin load balancer without sticky sessions whose
// health check has removed the killed nodes.
type Proxy struct {
	*httptest.Server
	procs []*Proc
	next  atomic.Uint64

	mu     sync.Mutex
	served map[string]int // node name → requests
}

// BlankPage is the path of an empty HTML page the proxy serves itself (not
// counted in Served): the Chromium leg opens it to run the scenario on the
// proxy's origin, so that the long-poll requests are same-origin and the
// page is a loopback one (Chromium's local network access checks block a
// page of unknown address space from opening a WebSocket to 127.0.0.1).
const BlankPage = "/__cluster/blank.html"

const blankPage = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>seance cluster</title>`

// RoundRobin starts a proxy over procs, closed at the end of the test.
func RoundRobin(t *testing.T, procs ...*Proc) *Proxy {
	t.Helper()
	p := &Proxy{procs: procs, served: map[string]int{}}
	targets := make([]*httputil.ReverseProxy, len(procs))
	for i, pr := range procs {
		u, err := url.Parse(pr.URL)
		if err != nil {
			t.Fatal(err)
		}
		targets[i] = httputil.NewSingleHostReverseProxy(u)
		targets[i].ErrorLog = nil
	}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == BlankPage {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, blankPage)
			return
		}
		for range len(procs) {
			i := int(p.next.Add(1) % uint64(len(procs)))
			if !procs[i].Alive() {
				continue
			}
			p.mu.Lock()
			p.served[procs[i].Name]++
			p.mu.Unlock()
			targets[i].ServeHTTP(w, r)
			return
		}
		http.Error(w, "no live node", http.StatusBadGateway)
	}))
	t.Cleanup(p.Server.Close)
	return p
}

// Served returns how many requests each node was sent.
func (p *Proxy) Served() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.served))
	for k, v := range p.served {
		out[k] = v
	}
	return out
}

// Event is one line printed by the scenario script.
type Event map[string]any

// Str returns a string field.
func (e Event) Str(k string) string { s, _ := e[k].(string); return s }

// Num returns a number field.
func (e Event) Num(k string) int { f, _ := e[k].(float64); return int(f) }

// Script is a running phoenix.js scenario.
type Script struct {
	t       *testing.T
	events  chan Event
	stdin   io.WriteCloser
	done    chan error
	seen    []Event
	backlog []Event // read but not yet matched
}

// here is this package's directory.
func here() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// A Leg runs the phoenix.js side of the scenario (testdata/scenario.mjs)
// with phoenix package pkg ("phoenix" is 1.8, "phoenix17" is 1.7): its
// LongPoll socket connects to lpURL, its WebSocket to wsURL, both as user
// "alice". RunScript runs it in Node, RunBrowser in headless Chromium.
type Leg func(t *testing.T, lpURL, wsURL, pkg string) *Script

// NamedLeg is a Leg with the name of its subtest.
type NamedLeg struct {
	Name string
	Run  Leg
}

// Legs returns the legs every cluster test runs: Node and Chromium.
func Legs() []NamedLeg {
	return []NamedLeg{{"node", RunScript}, {"chromium", RunBrowser}}
}

// RunScript runs the scenario in Node (testdata/cluster.cjs). Without node
// or the e2e packages the test is skipped, unless CI=true, where it fails.
func RunScript(t *testing.T, lpURL, wsURL, pkg string) *Script {
	t.Helper()
	node, e2e := requireTools(t, "", pkg)
	return runNode(t, node, []string{filepath.Join(here(), "testdata", "cluster.cjs"), lpURL, wsURL, pkg}, "E2E_DIR="+e2e)
}

// RunBrowser runs the scenario in headless Chromium (testdata/browser.mjs
// drives it with playwright-core; $SEANCE_CHROMIUM, else /usr/bin/chromium),
// on a page of lpURL's origin. Without node, Chromium or the e2e packages
// the test is skipped, unless CI=true, where it fails.
func RunBrowser(t *testing.T, lpURL, wsURL, pkg string) *Script {
	t.Helper()
	chromium := os.Getenv("SEANCE_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	node, e2e := requireTools(t, chromium, pkg, "playwright-core", "esbuild")
	return runNode(t, node, []string{filepath.Join(here(), "testdata", "browser.mjs"), lpURL, wsURL, pkg},
		"E2E_DIR="+e2e, "CHROMIUM="+chromium, "BLANK_PAGE="+BlankPage)
}

// requireTools returns node and the e2e directory, or skips the test (fails
// it under CI=true) when node, chromium (unless "") or one of the npm
// packages is missing.
func requireTools(t *testing.T, chromium string, pkgs ...string) (node, e2e string) {
	t.Helper()
	e2e = filepath.Join(here(), "..", "..", "..", "e2e")
	if miss := testenv.Missing(filepath.Join(e2e, "node_modules"), chromium, pkgs...); miss != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("missing %s (required under CI=true)", miss)
		}
		t.Skipf("missing %s", miss)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal(err)
	}
	return node, e2e
}

// runNode starts a Node script printing one JSON event per line; closing
// its stdin at the end of the test ends it.
func runNode(t *testing.T, node string, args []string, env ...string) *Script {
	t.Helper()
	cmd := exec.Command(node, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &Script{t: t, events: make(chan Event, 1024), stdin: stdin, done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var ev Event
			if json.Unmarshal(sc.Bytes(), &ev) != nil {
				ev = Event{"event": "garbage", "line": sc.Text()}
			}
			s.events <- ev
		}
		close(s.events)
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case err := <-s.done:
			if err != nil {
				t.Errorf("node %s: %v", filepath.Base(args[0]), err)
			}
		case <-time.After(Wait):
			_ = cmd.Process.Kill()
			<-s.done
			t.Errorf("node %s did not exit", filepath.Base(args[0]))
		}
	})
	return s
}

// Expect returns the first event named name not returned yet for which
// match holds (nil: any), failing after Wait.
func (s *Script) Expect(name string, match func(Event) bool) Event {
	s.t.Helper()
	matches := func(ev Event) bool { return ev.Str("event") == name && (match == nil || match(ev)) }
	for i, ev := range s.backlog {
		if matches(ev) {
			s.backlog = append(s.backlog[:i], s.backlog[i+1:]...)
			return ev
		}
	}
	timeout := time.After(Wait)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.t.Fatalf("script ended while waiting for %s; saw %v", name, s.seen)
			}
			s.seen = append(s.seen, ev)
			if matches(ev) {
				return ev
			}
			s.backlog = append(s.backlog, ev)
		case <-timeout:
			s.t.Fatalf("no %s within %v; saw %v", name, Wait, s.seen)
		}
	}
}

// Seen returns the events consumed so far.
func (s *Script) Seen() []Event { return s.seen }

type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// CheckAlive fails the test when the process has exited.
func (p *Proc) CheckAlive(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		t.Fatalf("%s exited: %v\n%s", p.Name, err, p.logs.String())
	default:
	}
}
