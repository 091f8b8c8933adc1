package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/examples/internal/browsertest"
	"github.com/seance-go/seance/examples/internal/wstest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	browsertest.Announce("examples/chi-todo TestBrowser* (todo lists and the contact form in Chromium)")
	goleak.VerifyTestMain(m)
}

// fakeBundles stands in for the esbuild output in tests that do not run a
// browser.
var fakeBundles = fstest.MapFS{
	"todo-app.js":     {Data: []byte("// todo app")},
	"contact-form.js": {Data: []byte("// contact form")},
}

func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// testServer is the app serving on a real port, as main runs it.
type testServer struct {
	URL  string // http://127.0.0.1:port
	Addr string
	app  *app

	once   sync.Once
	cancel context.CancelFunc
	done   chan error
	err    error
}

// startServer serves newApp(cfg) on addr ("127.0.0.1:0" for a free port)
// until the test ends or Stop.
func startServer(t testing.TB, cfg config, addr string) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger()
	}
	if cfg.Bundles == nil {
		cfg.Bundles = fakeBundles
	}
	a, err := newApp(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{URL: "http://" + ln.Addr().String(), Addr: ln.Addr().String(), app: a, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- serve(ctx, s.app, ln, nil) }()
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return s
}

// Stop shuts the server down gracefully and returns serve's error.
func (s *testServer) Stop() error {
	s.once.Do(func() {
		s.cancel()
		s.err = <-s.done
	})
	return s.err
}

func do(t *testing.T, h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func decodeJSON[T any](t *testing.T, data []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
	return v
}

func newTestApp(t *testing.T, cfg config) *app {
	t.Helper()
	if cfg.Bundles == nil {
		cfg.Bundles = fakeBundles
	}
	cfg.Logger = testLogger()
	a, err := newApp(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.reg.Shutdown(context.Background()) })
	return a
}

func TestREST(t *testing.T) {
	a := newTestApp(t, config{})
	h := a.handler
	type errBody struct{ Error string }

	rec := do(t, h, "GET", "/api/lists/groceries/todos", "")
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"todos":[]}` {
		t.Fatalf("GET empty list: %d %s", rec.Code, rec.Body)
	}

	bad := []struct{ name, target, body, want string }{
		{"bad JSON", "/api/lists/groceries/todos", `{"title":`, "must be a JSON object"},
		{"two objects", "/api/lists/groceries/todos", `{"title":"a"} {}`, "one JSON object"},
		{"no title", "/api/lists/groceries/todos", `{}`, `needs a "title"`},
		{"title not a string", "/api/lists/groceries/todos", `{"title":5}`, "must be a JSON object"},
		{"blank title", "/api/lists/groceries/todos", `{"title":" \t "}`, "a todo needs a title"},
		{"long title", "/api/lists/groceries/todos", `{"title":"` + strings.Repeat("é", 201) + `"}`, "too long: 201 characters, at most 200"},
		{"bad list", "/api/lists/no%20spaces/todos", `{"title":"a"}`, "bad list name"},
	}
	for _, tc := range bad {
		rec := do(t, h, "POST", tc.target, tc.body)
		if rec.Code != 400 || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %q, want 400 JSON", tc.name, rec.Code, rec.Header().Get("Content-Type"))
			continue
		}
		if got := decodeJSON[errBody](t, rec.Body.Bytes()).Error; !strings.Contains(got, tc.want) {
			t.Errorf("%s: error %q, want it to contain %q", tc.name, got, tc.want)
		}
	}

	rec = do(t, h, "POST", "/api/lists/groceries/todos", `{"title":"  Buy milk  "}`)
	if rec.Code != 201 {
		t.Fatalf("POST: %d %s", rec.Code, rec.Body)
	}
	milk := decodeJSON[Todo](t, rec.Body.Bytes())
	if milk.Title != "Buy milk" || milk.ID == "" || milk.Done {
		t.Fatalf("POST returned %+v", milk)
	}
	if loc := rec.Header().Get("Location"); loc != "/api/lists/groceries/todos/"+milk.ID {
		t.Errorf("Location %q", loc)
	}
	long := strings.Repeat("é", 200)
	if rec := do(t, h, "POST", "/api/lists/groceries/todos", `{"title":"`+long+`"}`); rec.Code != 201 {
		t.Fatalf("POST 200 characters: %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, h, "POST", "/api/lists/other/todos", `{"title":"elsewhere"}`); rec.Code != 201 {
		t.Fatalf("POST other list: %d", rec.Code)
	}

	rec = do(t, h, "GET", "/api/lists/groceries/todos", "")
	got := decodeJSON[TodoState](t, rec.Body.Bytes())
	if diff := cmp.Diff([]string{"Buy milk", long}, titlesOf(got.Todos)); diff != "" {
		t.Fatalf("GET after POST (-want +got):\n%s", diff)
	}

	if rec := do(t, h, "DELETE", "/api/lists/groceries/todos/"+milk.ID, ""); rec.Code != 204 || rec.Body.Len() != 0 {
		t.Fatalf("DELETE: %d %s", rec.Code, rec.Body)
	}
	rec = do(t, h, "DELETE", "/api/lists/groceries/todos/"+milk.ID, "")
	if rec.Code != 404 || decodeJSON[errBody](t, rec.Body.Bytes()).Error != ErrNotFound.Error() {
		t.Fatalf("DELETE again: %d %s", rec.Code, rec.Body)
	}
	got = decodeJSON[TodoState](t, do(t, h, "GET", "/api/lists/groceries/todos", "").Body.Bytes())
	if diff := cmp.Diff([]string{long}, titlesOf(got.Todos)); diff != "" {
		t.Fatalf("GET after DELETE (-want +got):\n%s", diff)
	}
}

func titlesOf(todos []Todo) []string {
	out := []string{}
	for _, t := range todos {
		out = append(out, t.Title)
	}
	return out
}

func TestPagesAndBundles(t *testing.T) {
	h := newTestApp(t, config{}).handler
	for target, want := range map[string]string{
		"/":                `<todo-list list="default">`,
		"/lists/groceries": `<todo-list list="groceries">`,
	} {
		rec := do(t, h, "GET", target, "")
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("GET %s: %d, want a page with %s", target, rec.Code, want)
		}
	}
	if rec := do(t, h, "GET", "/lists/no%20spaces", ""); rec.Code != 404 {
		t.Errorf("bad list page: %d", rec.Code)
	}
	rec := do(t, h, "GET", "/contact-form.js", "")
	if rec.Code != 200 || rec.Body.String() != "// contact form" || rec.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("contact-form.js: %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	if rec := do(t, h, "GET", "/assets/todo-app.js", ""); rec.Code != 200 || rec.Body.String() != "// todo app" {
		t.Errorf("todo-app.js: %d %q", rec.Code, rec.Body)
	}
}

func TestMissingBundleSaysHowToBuild(t *testing.T) {
	h := newTestApp(t, config{Bundles: fstest.MapFS{}}).handler
	for _, target := range []string{"/", "/lists/x", "/assets/todo-app.js", "/contact-form.js"} {
		rec := do(t, h, "GET", target, "")
		if rec.Code != 500 || !strings.Contains(rec.Body.String(), "make demo") {
			t.Errorf("GET %s without bundles: %d %q", target, rec.Code, rec.Body)
		}
	}
}

func TestEmbedPage(t *testing.T) {
	h := embedHandler("4000", testLogger())
	req := httptest.NewRequest("GET", "http://127.0.0.1:4001/?transport=longpoll", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body := rec.Body.String()
	for _, want := range []string{
		`<script type="module" src="http://127.0.0.1:4000/contact-form.js">`,
		`<contact-form transport="longpoll">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("embed page lacks %s:\n%s", want, body)
		}
	}
}

func TestParseConfig(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	cfg, err := parseConfig(nil, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := config{Addr: ":4000", EmbedAddr: ":4001", AllowedOrigins: []string{"http://localhost:4001", "http://127.0.0.1:4001"}}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}

	env["ADDR"], env["ALLOWED_ORIGINS"] = "127.0.0.1:9000", " https://a.example/ ,https://b.example"
	cfg, _ = parseConfig([]string{"-embed-addr", ""}, getenv, io.Discard)
	want = config{Addr: "127.0.0.1:9000", AllowedOrigins: []string{"https://a.example", "https://b.example"}}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("env and flags (-want +got):\n%s", diff)
	}

	// ALLOWED_ORIGINS adds to the embedding page's origins.
	env["EMBED_ADDR"] = "example.test:5001"
	cfg, _ = parseConfig(nil, getenv, io.Discard)
	want = config{Addr: "127.0.0.1:9000", EmbedAddr: "example.test:5001", AllowedOrigins: []string{
		"http://localhost:5001", "http://127.0.0.1:5001", "http://example.test:5001", "https://a.example", "https://b.example"}}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("ALLOWED_ORIGINS with EMBED_ADDR (-want +got):\n%s", diff)
	}
	delete(env, "EMBED_ADDR")
	cfg, _ = parseConfig([]string{"-addr", ":1"}, getenv, io.Discard)
	if cfg.Addr != ":1" {
		t.Errorf("-addr did not override ADDR: %q", cfg.Addr)
	}
	var out bytes.Buffer
	if _, err := parseConfig([]string{"-nope"}, getenv, &out); err == nil || !strings.Contains(out.String(), "-addr") {
		t.Errorf("unknown flag: %v, usage %q", err, out.String())
	}
	if _, err := parseConfig([]string{"extra"}, getenv, io.Discard); err == nil {
		t.Error("extra argument accepted")
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t *testing.T, ctx context.Context, url string) *wstest.Conn {
	t.Helper()
	c, _, err := wstest.Dial(ctx, url+"/socket", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// joinTodos joins todo:list and returns the initial state.
func joinTodos(t *testing.T, ctx context.Context, c *wstest.Conn, list, ref string) TodoState {
	t.Helper()
	reply, err := c.Join(ctx, "todo:"+list, ref)
	if err != nil || !strings.Contains(string(reply.Payload), `"ok"`) {
		t.Fatalf("join: %v %v", reply, err)
	}
	f, err := c.Next(ctx)
	if err != nil || f.Event != "state:change" {
		t.Fatalf("want state:change, got %v %v", f, err)
	}
	return decodeJSON[struct{ State TodoState }](t, f.Payload).State
}

// nextUpdate reads the next frame and checks it is a state update at
// version containing substr.
// nextUpdate reads the next state update, skipping empty patches (sent, as
// live_state does, after a callback that changed nothing: here the reload
// on the broadcast of a change the channel already shows).
func nextUpdate(t *testing.T, ctx context.Context, c *wstest.Conn, version int, substr string) {
	t.Helper()
	f, err := c.Await(ctx, func(f wstest.Frame) bool { return !emptyPatch(f) })
	if err != nil {
		t.Fatal(err)
	}
	v := decodeJSON[struct{ Version int }](t, f.Payload).Version
	if (f.Event != "state:patch" && f.Event != "state:change") || v != version || !strings.Contains(string(f.Payload), substr) {
		t.Fatalf("want a state update v%d with %s, got %v", version, substr, f)
	}
}

// emptyPatch reports whether f is a state:patch that changes nothing.
func emptyPatch(f wstest.Frame) bool {
	return f.Event == "state:patch" && strings.HasPrefix(string(f.Payload), `{"patch":[],`)
}

func TestSocketSyncsEveryClientOfAList(t *testing.T) {
	store := &MemoryStore{}
	if _, err := store.Add(context.Background(), "shared", "Existing"); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, config{Todos: store}, "127.0.0.1:0")
	ctx := testContext(t)
	c1, c2, other := dial(t, ctx, s.URL), dial(t, ctx, s.URL), dial(t, ctx, s.URL)
	if got := titlesOf(joinTodos(t, ctx, c1, "shared", "1").Todos); !cmp.Equal(got, []string{"Existing"}) {
		t.Fatalf("initial state %v", got)
	}
	joinTodos(t, ctx, c2, "shared", "1")
	joinTodos(t, ctx, other, "other", "1")

	// An event from c1 reaches both clients of the list.
	if err := c1.Push("1", "2", "todo:shared", "lvs_evt:add_todo", map[string]string{"title": "Milk"}); err != nil {
		t.Fatal(err)
	}
	nextUpdate(t, ctx, c1, 1, `"Milk"`)
	nextUpdate(t, ctx, c2, 1, `"Milk"`)

	// A bad title: an error event and an error reply for c1, no change.
	if err := c1.Push("1", "3", "todo:shared", "lvs_evt:add_todo", map[string]string{"title": "  "}); err != nil {
		t.Fatal(err)
	}
	f, err := c1.Await(ctx, func(f wstest.Frame) bool { return !emptyPatch(f) })
	if err != nil || f.Event != "error" || string(f.Payload) != `{"message":"a todo needs a title"}` {
		t.Fatalf("want the error event, got %v %v", f, err)
	}
	f, err = c1.Await(ctx, func(f wstest.Frame) bool { return !emptyPatch(f) })
	if err != nil || f.Event != "phx_reply" || f.Ref != "3" || !strings.Contains(string(f.Payload), `"error"`) {
		t.Fatalf("want an error reply, got %v %v", f, err)
	}

	// Unknown todo and unknown event are errors too.
	c1.Push("1", "4", "todo:shared", "lvs_evt:toggle_todo", map[string]string{"id": "nope"})
	if f, err := c1.Await(ctx, func(f wstest.Frame) bool { return !emptyPatch(f) }); err != nil || f.Event != "error" || !strings.Contains(string(f.Payload), ErrNotFound.Error()) {
		t.Fatalf("toggle unknown: %v %v", f, err)
	}
	c1.Push("1", "5", "todo:shared", "lvs_evt:rename", map[string]string{})
	if f, err := c1.Await(ctx, func(f wstest.Frame) bool { return f.Event == "error" }); err != nil || !strings.Contains(string(f.Payload), `unknown event`) {
		t.Fatalf("unknown event: %v %v", f, err)
	}

	// REST changes reach the live clients; the next frame c2 gets is the
	// REST change, so the failed events above sent it nothing.
	a := s.app
	if rec := do(t, a.handler, "POST", "/api/lists/shared/todos", `{"title":"From REST"}`); rec.Code != 201 {
		t.Fatalf("POST %d", rec.Code)
	}
	nextUpdate(t, ctx, c2, 2, `"From REST"`)
	state := decodeJSON[TodoState](t, do(t, a.handler, "GET", "/api/lists/shared/todos", "").Body.Bytes())
	if rec := do(t, a.handler, "DELETE", "/api/lists/shared/todos/"+state.Todos[0].ID, ""); rec.Code != 204 {
		t.Fatalf("DELETE %d", rec.Code)
	}
	nextUpdate(t, ctx, c2, 3, `"remove"`)

	// toggle and clear_done from c2.
	c2.Push("1", "6", "todo:shared", "lvs_evt:toggle_todo", map[string]string{"id": state.Todos[1].ID})
	nextUpdate(t, ctx, c2, 4, `true`)
	c2.Push("1", "7", "todo:shared", "lvs_evt:clear_done", map[string]string{})
	nextUpdate(t, ctx, c2, 6, `"remove"`) // v5: the empty patch of toggle's broadcast
	got := decodeJSON[TodoState](t, do(t, a.handler, "GET", "/api/lists/shared/todos", "").Body.Bytes())
	if diff := cmp.Diff([]string{"From REST"}, titlesOf(got.Todos)); diff != "" {
		t.Fatalf("after toggle and clear (-want +got):\n%s", diff)
	}

	// The other list saw none of it.
	do(t, a.handler, "POST", "/api/lists/other/todos", `{"title":"Other"}`)
	nextUpdate(t, ctx, other, 1, `"Other"`)
}

func TestJoinRefusesBadListNames(t *testing.T) {
	s := startServer(t, config{}, "127.0.0.1:0")
	ctx := testContext(t)
	c := dial(t, ctx, s.URL)
	reply, err := c.Join(ctx, "todo:no spaces", "1")
	if err != nil || !strings.Contains(string(reply.Payload), `"status":"error"`) || !strings.Contains(string(reply.Payload), "bad list name") {
		t.Fatalf("join with a bad list name: %v %v", reply, err)
	}
}

func TestContactChannel(t *testing.T) {
	contacts := &MemoryContacts{}
	s := startServer(t, config{Contacts: contacts}, "127.0.0.1:0")
	ctx := testContext(t)
	c := dial(t, ctx, s.URL)
	if reply, err := c.Join(ctx, contactTopic, "1"); err != nil || !strings.Contains(string(reply.Payload), `"ok"`) {
		t.Fatalf("join: %v %v", reply, err)
	}
	if f, err := c.Next(ctx); err != nil || string(f.Payload) != `{"state":{"status":"open"},"version":0}` {
		t.Fatalf("initial state: %v %v", f, err)
	}
	for _, tc := range []struct {
		in   map[string]string
		want string
	}{
		{map[string]string{"name": "", "email": "a@b.c", "message": "hi"}, "your name"},
		{map[string]string{"name": "Ada", "email": "Ada <a@b.c>", "message": "hi"}, "valid email"},
		{map[string]string{"name": "Ada", "email": "a@b.c", "message": " "}, "write a message"},
	} {
		c.Push("1", "2", contactTopic, "lvs_evt:send_contact", tc.in)
		f, err := c.Await(ctx, func(f wstest.Frame) bool { return f.Event == "error" })
		if err != nil || !strings.Contains(string(f.Payload), tc.want) {
			t.Errorf("send_contact %v: %v %v, want an error about %s", tc.in, f, err, tc.want)
		}
	}
	c.Push("1", "3", contactTopic, "lvs_evt:send_contact", map[string]string{"name": " Ada ", "email": "ada@example.com", "message": "Hello"})
	f, err := c.Await(ctx, func(f wstest.Frame) bool { return f.Event == "contact_created" })
	if err != nil {
		t.Fatal(err)
	}
	id := decodeJSON[struct{ ID string }](t, f.Payload).ID
	if f, err := c.Next(ctx); err != nil || !strings.Contains(string(f.Payload), `"sent"`) || !strings.Contains(string(f.Payload), `"Ada"`) {
		t.Fatalf("want the sent state, got %v %v", f, err)
	}
	got := decodeJSON[struct{ Contacts []Contact }](t, do(t, s.app.handler, "GET", "/api/contacts", "").Body.Bytes()).Contacts
	if len(got) != 1 || got[0].ID != id || got[0].Name != "Ada" || got[0].Email != "ada@example.com" || got[0].Sent.IsZero() {
		t.Fatalf("GET /api/contacts: %+v", got)
	}
}

func TestOriginCheck(t *testing.T) {
	s := startServer(t, config{AllowedOrigins: []string{"http://shop.example:8080"}}, "127.0.0.1:0")
	ctx := testContext(t)
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true},                         // not a browser
		{"http://" + s.Addr, true},         // the app's own pages
		{"http://shop.example:8080", true}, // allowed to embed
		{"http://shop.example:8081", false},
		{"https://shop.example:8080", false},
		{"http://evil.example", false},
		{"http://127.0.0.1:1", false}, // same host, other port: another origin
	} {
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		c, resp, err := wstest.Dial(ctx, s.URL+"/socket", h)
		if tc.ok {
			if err != nil {
				t.Errorf("origin %q refused: %v", tc.origin, err)
				continue
			}
			c.Close()
			continue
		}
		if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: %v, want 403", tc.origin, err)
		}
		if c != nil {
			c.Close()
		}
	}
}

func TestGracefulShutdownClosesSockets(t *testing.T) {
	s := startServer(t, config{}, "127.0.0.1:0")
	ctx := testContext(t)
	c := dial(t, ctx, s.URL)
	joinTodos(t, ctx, c, "x", "1")
	if err := s.Stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	_, err := c.Next(ctx)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseServiceRestart {
		t.Fatalf("want close 1012 after shutdown, got %v", err)
	}
	if _, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		t.Error("still listening after shutdown")
	}
}

func TestServeBothAddresses(t *testing.T) {
	ctx, cancel := context.WithCancel(testContext(t))
	cfg := config{Addr: "127.0.0.1:0", EmbedAddr: "127.0.0.1:0", Logger: testLogger(), Bundles: fakeBundles}
	ln, embedLn, err := listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serve(ctx, a, ln, embedLn) }()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + ln.Addr().String() + "/api/lists/default/todos")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("app: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = client.Get("http://" + embedLn.Addr().String() + "/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("embed page: %v %v", resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf(":%d/contact-form.js", ln.Addr().(*net.TCPAddr).Port); !strings.Contains(string(body), want) {
		t.Errorf("embed page does not load %s:\n%s", want, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

func TestRunFailsOnBusyAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = run(testContext(t), config{Addr: "127.0.0.1:0", EmbedAddr: ln.Addr().String(), Logger: testLogger()})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("run on a busy embed address: %v", err)
	}
}
