package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/seance-go/seance/examples/internal/browsertest"
	"github.com/seance-go/seance/examples/internal/wstest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	browsertest.Announce("examples/contact-form TestBrowserContactForm (the form on another origin in Chromium)")
	goleak.VerifyTestMain(m)
}

func testLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

var fakeBundles = fstest.MapFS{"contact-form.js": {Data: []byte("// contact form")}}

// startServer serves a new app on a free port until the test ends and
// returns its URL.
func startServer(t *testing.T, cfg config, store *Store) string {
	t.Helper()
	cfg.Logger = testLogger()
	a, err := newApp(cfg, store)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, a, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(body)
}

// TestFormChannel saves through the socket: the store's refusals arrive as
// state (errors per field), then a valid contact is saved and listed.
func TestFormChannel(t *testing.T) {
	for _, db := range stores {
		t.Run(db.name, func(t *testing.T) {
			store := db.open(t)
			base := startServer(t, config{Bundles: fakeBundles}, store)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, _, err := wstest.Dial(ctx, base+"/socket", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if reply, err := c.Join(ctx, formTopic, "1"); err != nil || !strings.Contains(string(reply.Payload), `"ok"`) {
				t.Fatalf("join: %v %v", reply, err)
			}
			state := func(f wstest.Frame) bool { return f.Event == "state:change" || f.Event == "state:patch" }
			if f, err := c.Await(ctx, state); err != nil || f.Event != "state:change" || !strings.Contains(string(f.Payload), `"errors":{}`) {
				t.Fatalf("initial state: %v %v", f, err)
			}

			c.Push("1", "2", formTopic, "lvs_evt:save_contact", map[string]string{"name": "Ada", "email": "ada@", "phone": "+44 20 7946 0000"})
			f, err := c.Await(ctx, state)
			if err != nil || !strings.Contains(string(f.Payload), "valid email") || strings.Contains(string(f.Payload), `"phone"`) {
				t.Fatalf("invalid email: %v %v, want errors.email only", f, err)
			}

			c.Push("1", "3", formTopic, "lvs_evt:save_contact", map[string]string{"name": "Ada", "email": "ada@example.com", "phone": "+44 20 7946 0000"})
			if f, err = c.Await(ctx, state); err != nil || !strings.Contains(string(f.Payload), "ada@example.com") {
				t.Fatalf("valid contact: %v %v, want the saved contact in the state", f, err)
			}
			var list struct{ Contacts []Contact }
			if code, _, body := get(t, base+"/api/contacts"); code != 200 || json.Unmarshal([]byte(body), &list) != nil ||
				len(list.Contacts) != 1 || list.Contacts[0].Email != "ada@example.com" {
				t.Fatalf("GET /api/contacts: %d %s", code, body)
			}
			if _, _, body := get(t, base+"/"); !strings.Contains(body, "<td>ada@example.com</td>") || !strings.Contains(body, "Kept in "+db.name) {
				t.Errorf("GET / does not list Ada:\n%s", body)
			}
		})
	}
}

func TestOriginPolicy(t *testing.T) {
	store := openSQLite(t)
	base := startServer(t, config{Bundles: fakeBundles, AllowedOrigins: []string{"http://allowed.example"}}, store)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for origin, ok := range map[string]bool{"http://allowed.example": true, "http://other.example": false, base: true} {
		c, res, err := wstest.Dial(ctx, base+"/socket", http.Header{"Origin": {origin}})
		if c != nil {
			c.Close()
		}
		if ok != (err == nil) {
			t.Errorf("origin %s: err %v (response %v), want allowed=%v", origin, err, res, ok)
		}
	}
}

func TestScript(t *testing.T) {
	base := startServer(t, config{Bundles: fakeBundles}, openSQLite(t))
	code, h, body := get(t, base+"/contact-form.js")
	if code != 200 || body != "// contact form" || h.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("contact-form.js: %d %q %v", code, body, h)
	}
	base = startServer(t, config{Bundles: fstest.MapFS{}}, openSQLite(t))
	if code, _, body := get(t, base+"/contact-form.js"); code != 500 || !strings.Contains(body, "make contact-form") {
		t.Errorf("without the bundle: %d %q, want 500 saying how to build it", code, body)
	}
}

func TestOtherSitePage(t *testing.T) {
	srv := httptest.NewServer(otherSite("4321"))
	defer srv.Close()
	code, _, body := get(t, srv.URL+"/")
	want := `<script type="module" src="http://127.0.0.1:4321/contact-form.js">`
	if code != 200 || !strings.Contains(body, want) || !strings.Contains(body, "<contact-form></contact-form>") {
		t.Errorf("page: %d, want %s in\n%s", code, want, body)
	}
}

func TestParseConfig(t *testing.T) {
	env := map[string]string{"ALLOWED_ORIGINS": "https://a.example/, https://b.example", "DATABASE_URL": "postgres://x", "ADDR": ":9"}
	var out bytes.Buffer
	cfg, err := parseConfig([]string{"-db", "x.db"}, func(k string) string { return env[k] }, &out)
	if err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(defaultOrigins), "https://a.example", "https://b.example")
	if !slices.Equal(cfg.AllowedOrigins, want) || cfg.DatabaseURL != "postgres://x" || cfg.Addr != ":9" || cfg.SQLitePath != "x.db" || cfg.PageAddr != ":4011" {
		t.Errorf("config %+v", cfg)
	}
	if _, err := parseConfig([]string{"extra"}, func(string) string { return "" }, &out); err == nil {
		t.Error("an extra argument was accepted")
	}
}

// TestRunShutsDown: run opens the SQLite file, serves both addresses, logs
// them and returns nil once its context ends.
func TestRunShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	done := make(chan error, 1)
	dir := t.TempDir()
	go func() {
		done <- run(ctx, config{Addr: "127.0.0.1:0", PageAddr: "127.0.0.1:0", SQLitePath: dir + "/c.db",
			Logger: slog.New(slog.NewTextHandler(logs, nil)), Bundles: fakeBundles})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "another site embedding") {
		if time.Now().After(deadline) {
			t.Fatalf("run did not start serving; log:\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
	if !strings.Contains(logs.String(), "shutting down") {
		t.Errorf("log:\n%s", logs)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test together.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
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

func TestRunFailsOnBadDatabase(t *testing.T) {
	err := run(context.Background(), config{Addr: "127.0.0.1:0", SQLitePath: t.TempDir() + "/missing-dir/c.db", Logger: testLogger()})
	if err == nil {
		t.Fatal("run succeeded with an SQLite file in a missing directory")
	}
}
