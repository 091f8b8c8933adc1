package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/websocket"

	"github.com/seance-go/seance/client"
)

// TestFramesMatchPhoenixJS records, on the server side, the frames sent by
// the Go client and by phoenix.js (Node) for the same actions — connect with
// params and an auth token, join "room:1" {"a":1}, push "echo" {"x":1}, a
// heartbeat (WebSocket), leave — and compares their shapes: the same events
// in the same order with identical payloads, refs as increasing decimal
// strings, join_ref == ref on joins, pushes and leaves carrying the join_ref,
// heartbeats with a null join_ref on topic "phoenix". Ref numbers may differ.
// Over long-poll it also compares the GET and POST requests (query, token,
// auth header, content type) and the ndjson lines of the POSTs.
func TestFramesMatchPhoenixJS(t *testing.T) {
	node, e2eDir := requireNode(t)
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			goRec := recordRun(t, func(t *testing.T, endpoint string, rec *recorder) {
				runGoClient(t, endpoint, tr.t, rec)
			})
			jsRec := recordRun(t, func(t *testing.T, endpoint string, rec *recorder) {
				runPhoenixJS(t, node, e2eDir, endpoint, tr.name, rec)
			})

			goFrames := goRec.clientFrames(t)
			jsFrames := jsRec.clientFrames(t)
			goSeq, goHB := normalizeFrames(t, "Go client", goFrames)
			jsSeq, jsHB := normalizeFrames(t, "phoenix.js", jsFrames)
			if d := cmp.Diff(jsSeq, goSeq); d != "" {
				t.Errorf("frames differ (-phoenix.js +Go):\n%s", d)
			}
			wantEvents := []string{"room:1 phx_join", "room:1 echo", "room:1 phx_leave"}
			var events []string
			for _, f := range goSeq {
				events = append(events, f.Topic+" "+f.Event)
			}
			if !slices.Equal(events, wantEvents) {
				t.Errorf("Go client sent %v, want %v", events, wantEvents)
			}
			if tr.t == client.WebSocket {
				if goHB == 0 || jsHB == 0 {
					t.Errorf("heartbeats: Go %d, phoenix.js %d; want at least one each", goHB, jsHB)
				}
				compareWSHandshakes(t, goRec, jsRec)
			} else {
				if goHB != 0 || jsHB != 0 {
					t.Errorf("heartbeats over long-poll: Go %d, phoenix.js %d; want none", goHB, jsHB)
				}
				compareLongPoll(t, goRec, jsRec)
			}
			t.Logf("%s: %d frames match (Go %d heartbeats, phoenix.js %d)", tr.name, len(goSeq), goHB, jsHB)
		})
	}
}

// requireNode returns node and the e2e directory with phoenix and ws
// installed, or skips (fails under CI=true) when they are missing.
func requireNode(t *testing.T) (node, e2eDir string) {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s; CI=true, so this is a failure", what)
		}
		t.Skipf("%s; skipping", what)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	e2eDir, err = filepath.Abs(filepath.Join("..", "e2e"))
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range []string{"phoenix", "ws"} {
		if _, err := os.Stat(filepath.Join(e2eDir, "node_modules", dep, "package.json")); err != nil {
			missing("e2e/node_modules/" + dep + " is missing (run `npm ci` in e2e/)")
		}
	}
	return node, e2eDir
}

const framesHeartbeat = 100 * time.Millisecond

// runGoClient performs the action sequence with the Go client.
func runGoClient(t *testing.T, endpoint string, tr client.Transport, rec *recorder) {
	ctx := testCtx(t)
	s, err := client.Dial(ctx, endpoint, &client.Options{
		Transport:         tr,
		ClientID:          "-", // phoenix.js sends no client_id
		Params:            map[string]any{"user": "ann", "meta": map[string]any{"k": "v"}},
		AuthToken:         goodToken,
		HeartbeatInterval: framesHeartbeat,
	})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer s.Close()
	ch, _, err := s.Join(ctx, "room:1", map[string]any{"a": 1})
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	r, err := ch.Push(ctx, "echo", map[string]any{"x": 1})
	if err != nil || string(r.Response) != `{"x":1}` {
		t.Fatalf("echo: %v %v", r, err)
	}
	if tr == client.WebSocket {
		select {
		case <-rec.heartbeatReplied:
		case <-ctx.Done():
			t.Fatal("no heartbeat reply")
		}
	}
	if err := ch.Leave(ctx); err != nil {
		t.Fatalf("Leave: %v", err)
	}
}

// runPhoenixJS performs the action sequence with phoenix.js in Node.
func runPhoenixJS(t *testing.T, node, e2eDir, endpoint, transport string, rec *recorder) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "phoenix_frames.mjs"))
	cmd.Env = append(os.Environ(),
		"E2E_DIR="+e2eDir, "ENDPOINT="+endpoint, "TRANSPORT="+transport, "AUTH_TOKEN="+goodToken,
		"HEARTBEAT_MS="+strconv.Itoa(int(framesHeartbeat/time.Millisecond)))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node phoenix_frames.mjs: %v\nstdout: %s\nstderr: %s", err, out, stderr.Bytes())
	}
	var res struct{ Phoenix string }
	if err := json.Unmarshal(bytes.TrimSpace(out), &res); err != nil || !strings.HasPrefix(res.Phoenix, "1.8.") {
		t.Fatalf("node output %q (%v), want phoenix 1.8.x", out, err)
	}
	t.Logf("phoenix.js %s", res.Phoenix)
}

// recordRun starts OUR server and, in front of it, a recorder; runs fn with
// the recorder's socket endpoint; and returns the recording once the
// connection is over.
func recordRun(t *testing.T, fn func(t *testing.T, endpoint string, rec *recorder)) *recorder {
	t.Helper()
	ts := startServer(t, 1, nil)
	rec := &recorder{backend: ts.srv.URL, heartbeatReplied: make(chan struct{}), wsDone: make(chan struct{}, 10)}
	backend := ts.srv.Config.Handler
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/websocket"):
			rec.proxyWebSocket(w, r)
		case strings.HasSuffix(r.URL.Path, "/longpoll"):
			rec.recordLongPoll(r)
			backend.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	defer front.Close()
	fn(t, "ws"+strings.TrimPrefix(front.URL, "http")+"/socket", rec)
	if rec.isWebSocket() {
		select {
		case <-rec.wsDone:
		case <-time.After(10 * time.Second):
			t.Fatal("the recorded WebSocket connection did not end")
		}
	}
	ts.stop()
	return rec
}

// recorder proxies WebSocket connections to the backend and records what
// the client sent; for long-poll it records the requests.
type recorder struct {
	backend          string
	heartbeatReplied chan struct{} // closed at the first heartbeat reply
	wsDone           chan struct{} // signalled when the proxied connection ended

	mu        sync.Mutex
	ws        bool
	query     url.Values // of the WebSocket handshake
	protocols []string
	frames    []recFrame
	closeCode int
	hbOnce    sync.Once
	requests  []lpRequest
}

type recFrame struct {
	data   []byte
	binary bool
}

type lpRequest struct {
	method string
	query  url.Values
	header http.Header
	body   []byte
}

func (rec *recorder) lpRequests() []lpRequest {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.requests)
}

func (rec *recorder) isWebSocket() bool {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.ws
}

func (rec *recorder) proxyWebSocket(w http.ResponseWriter, r *http.Request) {
	defer func() {
		select {
		case rec.wsDone <- struct{}{}:
		default:
		}
	}()
	protocols := websocket.Subprotocols(r)
	rec.mu.Lock()
	rec.ws, rec.query, rec.protocols = true, r.URL.Query(), protocols
	rec.mu.Unlock()

	d := websocket.Dialer{Subprotocols: protocols}
	backendURL := "ws" + strings.TrimPrefix(rec.backend, "http") + r.URL.Path + "?" + r.URL.RawQuery
	bc, resp, err := d.DialContext(r.Context(), backendURL, nil)
	if err != nil {
		status := http.StatusBadGateway
		if resp != nil {
			status = resp.StatusCode
		}
		http.Error(w, err.Error(), status)
		return
	}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	if p := bc.Subprotocol(); p != "" {
		up.Subprotocols = []string{p}
	}
	cc, err := up.Upgrade(w, r, nil)
	if err != nil {
		bc.Close()
		return
	}
	done := make(chan struct{})
	go func() { // server → client
		defer close(done)
		for {
			mt, data, err := bc.ReadMessage()
			if err != nil {
				code := websocket.CloseGoingAway
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					code = ce.Code
				}
				_ = cc.WriteControl(websocket.CloseMessage, closeMessage(code), time.Now().Add(time.Second))
				cc.Close()
				return
			}
			var f []json.RawMessage
			if mt == websocket.TextMessage && json.Unmarshal(data, &f) == nil && len(f) == 5 &&
				string(f[2]) == `"phoenix"` && string(f[3]) == `"phx_reply"` {
				rec.hbOnce.Do(func() { close(rec.heartbeatReplied) })
			}
			if err := cc.WriteMessage(mt, data); err != nil {
				bc.Close()
				return
			}
		}
	}()
	for { // client → server
		mt, data, err := cc.ReadMessage()
		if err != nil {
			code := websocket.CloseAbnormalClosure
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				code = ce.Code
			}
			rec.mu.Lock()
			rec.closeCode = code
			rec.mu.Unlock()
			_ = bc.WriteControl(websocket.CloseMessage, closeMessage(code), time.Now().Add(time.Second))
			bc.Close()
			break
		}
		rec.mu.Lock()
		rec.frames = append(rec.frames, recFrame{data: data, binary: mt == websocket.BinaryMessage})
		rec.mu.Unlock()
		if err := bc.WriteMessage(mt, data); err != nil {
			cc.Close()
			break
		}
	}
	<-done
	cc.Close()
}

// closeMessage forwards a close code; codes that may not be sent on the
// wire (1005 no status, 1006 abnormal) become an empty close frame.
func closeMessage(code int) []byte {
	if code == websocket.CloseNoStatusReceived || code == websocket.CloseAbnormalClosure {
		return []byte{}
	}
	return websocket.FormatCloseMessage(code, "")
}

func (rec *recorder) recordLongPoll(r *http.Request) {
	req := lpRequest{method: r.Method, query: r.URL.Query(), header: r.Header.Clone()}
	if r.Body != nil {
		body, err := io.ReadAll(r.Body)
		if err == nil {
			req.body = body
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	rec.mu.Lock()
	rec.requests = append(rec.requests, req)
	rec.mu.Unlock()
}

// clientFrames returns the text frames the client sent, in order: the
// WebSocket messages or the lines of the long-poll POSTs.
func (rec *recorder) clientFrames(t *testing.T) [][]byte {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out [][]byte
	for _, f := range rec.frames {
		if f.binary {
			t.Errorf("unexpected binary frame %x", f.data)
			continue
		}
		out = append(out, f.data)
	}
	for _, r := range rec.requests {
		if r.method != http.MethodPost {
			continue
		}
		for _, line := range bytes.Split(r.body, []byte("\n")) {
			if len(line) > 0 {
				out = append(out, line)
			}
		}
	}
	return out
}

// wireFrame is a client frame with its refs replaced by symbols: "R1" for
// the first ref number seen, "R2" for the next…, and "null".
type wireFrame struct {
	JoinRef, Ref string
	Topic        string
	Event        string
	Payload      any
}

var decimalRef = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)

// normalizeFrames checks the ref rules on frames and returns them, without
// heartbeats, with symbolic refs, and the number of heartbeats.
func normalizeFrames(t *testing.T, who string, frames [][]byte) ([]wireFrame, int) {
	t.Helper()
	symbols := map[string]string{}
	symbol := func(ref string) string {
		if _, ok := symbols[ref]; !ok {
			symbols[ref] = fmt.Sprintf("R%d", len(symbols)+1)
		}
		return symbols[ref]
	}
	joinRefs := map[string]string{} // topic → join_ref of its current join
	var out []wireFrame
	heartbeats := 0
	last := -1
	for _, raw := range frames {
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil || len(elems) != 5 {
			t.Errorf("%s: frame %s is not a 5-element JSON array", who, raw)
			continue
		}
		refOf := func(i int, name string) (string, bool) {
			if string(elems[i]) == "null" {
				return "", true
			}
			var s string
			if json.Unmarshal(elems[i], &s) != nil || !decimalRef.MatchString(s) {
				t.Errorf("%s: %s %s in %s is not null or a decimal string", who, name, elems[i], raw)
				return "", false
			}
			return s, true
		}
		joinRef, ok1 := refOf(0, "join_ref")
		ref, ok2 := refOf(1, "ref")
		var f wireFrame
		if !ok1 || !ok2 || json.Unmarshal(elems[2], &f.Topic) != nil || json.Unmarshal(elems[3], &f.Event) != nil ||
			json.Unmarshal(elems[4], &f.Payload) != nil {
			t.Errorf("%s: malformed frame %s", who, raw)
			continue
		}
		if ref == "" {
			t.Errorf("%s: frame %s has no ref", who, raw)
			continue
		}
		n, _ := strconv.Atoi(ref)
		if n <= last {
			t.Errorf("%s: ref %d after %d: refs must increase", who, n, last)
		}
		last = n
		switch {
		case f.Event == "heartbeat":
			heartbeats++
			if f.Topic != "phoenix" || joinRef != "" || !cmp.Equal(f.Payload, map[string]any{}) {
				t.Errorf("%s: heartbeat %s, want [null, ref, \"phoenix\", \"heartbeat\", {}]", who, raw)
			}
			continue
		case f.Event == "phx_join":
			if joinRef != ref {
				t.Errorf("%s: join %s: join_ref must equal ref", who, raw)
			}
			joinRefs[f.Topic] = ref
		default:
			if want, ok := joinRefs[f.Topic]; !ok || joinRef != want {
				t.Errorf("%s: %s carries join_ref %q, want the join's %q", who, raw, joinRef, want)
			}
		}
		f.Ref = symbol(ref)
		f.JoinRef = "null"
		if joinRef != "" {
			f.JoinRef = symbol(joinRef)
		}
		out = append(out, f)
	}
	return out, heartbeats
}

func compareWSHandshakes(t *testing.T, goRec, jsRec *recorder) {
	t.Helper()
	goRec.mu.Lock()
	defer goRec.mu.Unlock()
	jsRec.mu.Lock()
	defer jsRec.mu.Unlock()
	if d := cmp.Diff(jsRec.query, goRec.query); d != "" {
		t.Errorf("WebSocket query (-phoenix.js +Go):\n%s", d)
	}
	want := url.Values{"user": {"ann"}, "meta[k]": {"v"}, "vsn": {"2.0.0"}}
	if d := cmp.Diff(want, goRec.query); d != "" {
		t.Errorf("Go WebSocket query (-want +got):\n%s", d)
	}
	if d := cmp.Diff(jsRec.protocols, goRec.protocols); d != "" {
		t.Errorf("Sec-WebSocket-Protocol (-phoenix.js +Go):\n%s", d)
	}
	if len(goRec.protocols) != 2 || goRec.protocols[0] != "phoenix" || !strings.HasPrefix(goRec.protocols[1], "base64url.bearer.phx.") {
		t.Errorf("Go subprotocols %q, want phoenix and the auth token", goRec.protocols)
	}
	if goRec.closeCode != jsRec.closeCode {
		t.Logf("close codes differ: Go %d, phoenix.js %d", goRec.closeCode, jsRec.closeCode)
	}
}

// lpShape is what matters of a long-poll request: method, query (the
// session token's value replaced by "<token>") and the headers phoenix.js
// sets.
type lpShape struct {
	Method      string
	Query       url.Values
	Accept      string
	ContentType string
	AuthToken   string
}

func shapes(reqs []lpRequest) (first lpShape, gets, posts map[string]lpShape) {
	gets, posts = map[string]lpShape{}, map[string]lpShape{}
	for i, r := range reqs {
		q := url.Values{}
		for k, v := range r.query {
			if k == "token" {
				v = []string{"<token>"}
			}
			q[k] = v
		}
		s := lpShape{Method: r.method, Query: q, Accept: r.header.Get("Accept"),
			ContentType: r.header.Get("Content-Type"), AuthToken: r.header.Get("X-Phoenix-AuthToken")}
		if r.method == http.MethodPost {
			// phoenix.js sends the auth token only on GETs and leaves
			// Accept to fetch; the Go client sends both on every request
			// (harmless: the server reads the auth token when it opens a
			// session).
			s.Accept, s.AuthToken = "", ""
		}
		key := fmt.Sprint(s)
		switch {
		case i == 0:
			first = s
		case r.method == http.MethodGet:
			gets[key] = s
		default:
			posts[key] = s
		}
	}
	return first, gets, posts
}

func compareLongPoll(t *testing.T, goRec, jsRec *recorder) {
	t.Helper()
	goReqs, jsReqs := goRec.lpRequests(), jsRec.lpRequests()
	goFirst, goGets, goPosts := shapes(goReqs)
	jsFirst, jsGets, jsPosts := shapes(jsReqs)
	if d := cmp.Diff(jsFirst, goFirst); d != "" {
		t.Errorf("opening GET (-phoenix.js +Go):\n%s", d)
	}
	wantFirst := lpShape{Method: "GET", Query: url.Values{"user": {"ann"}, "meta[k]": {"v"}, "vsn": {"2.0.0"}},
		Accept: "application/json", AuthToken: goodToken}
	if d := cmp.Diff(wantFirst, goFirst); d != "" {
		t.Errorf("Go opening GET (-want +got):\n%s", d)
	}
	if len(goGets) == 0 || len(goPosts) == 0 {
		t.Errorf("Go client: %d polling GET shapes, %d POST shapes; want some of each", len(goGets), len(goPosts))
	}
	t.Logf("long-poll request shapes: first %v, GETs %v, POSTs %v", goFirst, slices.Collect(maps.Values(goGets)), slices.Collect(maps.Values(goPosts)))
	if d := cmp.Diff(jsGets, goGets); d != "" {
		t.Errorf("polling GETs (-phoenix.js +Go):\n%s", d)
	}
	if d := cmp.Diff(jsPosts, goPosts); d != "" {
		t.Errorf("POSTs (-phoenix.js +Go):\n%s", d)
	}
	for _, s := range goPosts {
		if s.ContentType != "application/x-ndjson" || s.Query.Get("token") != "<token>" {
			t.Errorf("Go POST %+v, want ndjson with the session token", s)
		}
	}
	// The Go client also sends the session token in X-Phoenix-Longpoll-Token
	// (phoenix.js 1.9), phoenix.js 1.8 only in the query.
	for _, r := range goReqs[1:] {
		if r.header.Get("X-Phoenix-Longpoll-Token") != r.query.Get("token") {
			t.Errorf("Go request: header token %q, query token %q", r.header.Get("X-Phoenix-Longpoll-Token"), r.query.Get("token"))
		}
	}
}
