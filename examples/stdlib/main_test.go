package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/seance-go/seance/examples/internal/browsertest"
	"github.com/seance-go/seance/examples/internal/wstest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	browsertest.Announce("examples/stdlib TestBrowser* (the counter in Chromium)")
	goleak.VerifyTestMain(m)
}

var fakeBundles = fstest.MapFS{"counter.js": {Data: []byte("// counter")}}

func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// startServer serves newServer(cfg) on a free port until the test ends.
func startServer(t testing.TB, cfg config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = testLogger()
	if cfg.Bundles == nil {
		cfg.Bundles = fakeBundles
	}
	reg, h, in := newServer(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, reg, h, in, cfg.Logger) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func join(t *testing.T, ctx context.Context, base, topic string) *wstest.Conn {
	t.Helper()
	c, _, err := wstest.Dial(ctx, base+"/socket", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if reply, err := c.Join(ctx, topic, "1"); err != nil || !strings.Contains(string(reply.Payload), `"ok"`) {
		t.Fatalf("join %s: %v %v", topic, reply, err)
	}
	return c
}

// countOf reads the count from a state:change, or from a state:patch that
// replaces /count.
func countOf(t *testing.T, f wstest.Frame) int64 {
	t.Helper()
	var p struct {
		State *CounterState
		Patch []struct {
			Op, Path string
			Value    int64
		}
	}
	if err := json.Unmarshal(f.Payload, &p); err != nil {
		t.Fatalf("%v: %v", f, err)
	}
	switch {
	case f.Event == "state:change" && p.State != nil:
		return p.State.Count
	case f.Event == "state:patch" && len(p.Patch) == 1 && p.Patch[0].Path == "/count":
		return p.Patch[0].Value
	}
	t.Fatalf("not a count update: %v", f)
	return 0
}

// update awaits the next state update of c and returns its count.
func update(t *testing.T, ctx context.Context, c *wstest.Conn) int64 {
	t.Helper()
	// Replies and empty patches (live_state sends one after a callback that
	// changed nothing, here the sender's reload after its own change) are
	// skipped.
	f, err := c.Await(ctx, func(f wstest.Frame) bool { return f.Event != "phx_reply" && !emptyPatch(f) })
	if err != nil {
		t.Fatal(err)
	}
	return countOf(t, f)
}

// emptyPatch reports whether f is a state:patch that changes nothing.
func emptyPatch(f wstest.Frame) bool {
	return f.Event == "state:patch" && strings.HasPrefix(string(f.Payload), `{"patch":[],`)
}

// next reads the next frame and checks its event and payload.
func next(t *testing.T, ctx context.Context, c *wstest.Conn, event, payload string) {
	t.Helper()
	f, err := c.Next(ctx)
	if err != nil || f.Event != event || string(f.Payload) != payload {
		t.Fatalf("want %s %s, got %v %v", event, payload, f, err)
	}
}

func TestCountersAreShared(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	base := startServer(t, config{})
	a, b := join(t, ctx, base, "counter:shared"), join(t, ctx, base, "counter:shared")
	other := join(t, ctx, base, "counter:other")
	for _, c := range []*wstest.Conn{a, b, other} {
		next(t, ctx, c, "state:change", `{"state":{"count":0},"version":0}`)
	}
	steps := []struct {
		from          *wstest.Conn
		event, detail string
		count         int64
	}{
		{a, "increment", `{}`, 1},
		{b, "increment", `{"by":10}`, 11},
		{a, "decrement", `null`, 10},
		{b, "decrement", `{"by":3}`, 7},
		{a, "reset", `{}`, 0},
	}
	for i, s := range steps {
		if err := s.from.Push("1", "9", "counter:shared", "lvs_evt:"+s.event, json.RawMessage(s.detail)); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*wstest.Conn{a, b} {
			if got := update(t, ctx, c); got != s.count {
				t.Fatalf("step %d (%s %s): count %d, want %d", i, s.event, s.detail, got, s.count)
			}
		}
	}

	// Bad input: an error event, no change.
	for _, detail := range []string{`{"by":0}`, `{"by":1001}`, `{"by":1.5}`, `{"by":"2"}`, `[1]`} {
		a.Push("1", "10", "counter:shared", "lvs_evt:increment", json.RawMessage(detail))
		f, err := a.Await(ctx, func(f wstest.Frame) bool { return !emptyPatch(f) })
		if err != nil || f.Event != "error" || !strings.Contains(string(f.Payload), `\"by\" must be`) {
			t.Errorf("increment %s: want an error about by, got %v %v", detail, f, err)
		}
		if f, err := a.Await(ctx, func(f wstest.Frame) bool { return !emptyPatch(f) }); err != nil || f.Event != "phx_reply" || !strings.Contains(string(f.Payload), `"error"`) {
			t.Errorf("increment %s: want an error reply, got %v %v", detail, f, err)
		}
	}
	a.Push("1", "11", "counter:shared", "lvs_evt:double", json.RawMessage(`{}`))
	if f, err := a.Await(ctx, func(f wstest.Frame) bool { return !emptyPatch(f) }); err != nil || !strings.Contains(string(f.Payload), "unknown event") {
		t.Errorf("unknown event: %v %v", f, err)
	}

	// The other counter changes alone; b's next frame is about it, so the
	// failures above sent b nothing.
	other.Push("1", "2", "counter:other", "lvs_evt:increment", json.RawMessage(`{"by":5}`))
	if got := update(t, ctx, other); got != 5 {
		t.Fatalf("other counter: %d, want 5", got)
	}
	b.Push("1", "12", "counter:shared", "lvs_evt:increment", json.RawMessage(`{}`))
	if got := update(t, ctx, b); got != 1 {
		t.Fatalf("shared counter after the other changed: %d, want 1", got)
	}
}

func TestCounterLimits(t *testing.T) {
	m := &MemoryCounters{}
	ctx := context.Background()
	if _, err := m.Add(ctx, "x", maxCount); err != nil {
		t.Fatal(err)
	}
	n, err := m.Add(ctx, "x", 1)
	if err == nil || n != maxCount {
		t.Fatalf("past the maximum: %d %v", n, err)
	}
}

func TestHTTP(t *testing.T) {
	_, h, _ := newServer(config{Logger: testLogger(), Bundles: fakeBundles})
	get := func(target string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		return rec
	}
	for target, want := range map[string]string{
		"/":                  `data-counter="default"`,
		"/counters/visits":   `data-counter="visits"`,
		"/assets/counter.js": "// counter",
		"/api/counters/a":    `{"count":0}`,
	} {
		if rec := get(target); rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("GET %s: %d %q, want %s", target, rec.Code, rec.Body, want)
		}
	}
	for target, code := range map[string]int{"/nope": 404, "/counters/a%20b": 404, "/api/counters/a%20b": 400} {
		if rec := get(target); rec.Code != code {
			t.Errorf("GET %s: %d, want %d", target, rec.Code, code)
		}
	}

	_, h, _ = newServer(config{Logger: testLogger(), Bundles: fstest.MapFS{}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "make demo") {
		t.Errorf("without the bundle: %d %q", rec.Code, rec.Body)
	}
}

func TestParseConfig(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if cfg, err := parseConfig(nil, getenv, io.Discard); err != nil || cfg.Addr != ":4002" {
		t.Errorf("default: %+v %v", cfg, err)
	}
	env["ADDR"] = ":9"
	if cfg, _ := parseConfig(nil, getenv, io.Discard); cfg.Addr != ":9" {
		t.Errorf("ADDR: %q", cfg.Addr)
	}
	if cfg, _ := parseConfig([]string{"-addr", ":8"}, getenv, io.Discard); cfg.Addr != ":8" {
		t.Errorf("-addr: %q", cfg.Addr)
	}
	if _, err := parseConfig([]string{"x"}, getenv, io.Discard); err == nil {
		t.Error("extra argument accepted")
	}
}

func TestRunShutsDownOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := run(ctx, config{Addr: "127.0.0.1:0", Logger: testLogger()}); err != nil {
		t.Fatalf("run: %v", err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if err := run(context.Background(), config{Addr: busy.Addr().String(), Logger: testLogger()}); err == nil {
		t.Fatal("run on a busy address succeeded")
	}
}
