package longpoll

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/seance-go/seance/cors"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.DiscardHandler)

// testChannel echoes, records "seq" pushes in order and reports its end.
type testChannel struct {
	mu         sync.Mutex
	seq        []int
	joins      chan string
	terminated chan error
}

func newTestChannel() *testChannel {
	return &testChannel{joins: make(chan string, 100), terminated: make(chan error, 100)}
}

func (c *testChannel) Join(ctx context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
	c.joins <- ch.Topic()
	return map[string]any{"transport": ch.ConnectInfo().Transport, "params": ch.ConnectInfo().Params}, nil
}

func (c *testChannel) HandleIn(ctx context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
	switch msg.Event {
	case "echo":
		return phx.Ok(phx.Raw(msg.Payload.Data)), nil
	case "seq":
		var p struct{ I int }
		if err := msg.Payload.Decode(&p); err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.seq = append(c.seq, p.I)
		c.mu.Unlock()
		return phx.Ok(map[string]int{"i": p.I}), nil
	case "bin":
		return phx.Ok(map[string]any{"binary": msg.Payload.Binary, "b64": base64.StdEncoding.EncodeToString(msg.Payload.Data)}), nil
	case "push_binary":
		err := ch.Push("bin", phx.Binary{1, 2, 3})
		return phx.Ok(map[string]bool{"refused": errors.Is(err, phx.ErrBinaryUnsupported)}), nil
	}
	return nil, fmt.Errorf("unknown event %q", msg.Event)
}

func (c *testChannel) Terminate(ctx context.Context, ch *phx.Channel, reason error) {
	c.terminated <- reason
}

func (c *testChannel) sequence() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.seq...)
}

type fixture struct {
	t        *testing.T
	ep       *phx.Endpoint
	lp       *Handler
	srv      *httptest.Server
	ch       *testChannel
	url      string // …/socket/longpoll
	released chan struct{}
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	f := &fixture{t: t, ch: newTestChannel(), released: make(chan struct{}, 100)}
	f.ep = phx.NewEndpoint(phx.Config{Logger: quiet})
	f.ep.Handle("room:*", f.ch)
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	f.lp = New(f.ep, opts)
	f.lp.onRelease = func() { f.released <- struct{}{} }
	mux := http.NewServeMux()
	mux.Handle("/socket/", handler.New(f.ep, handler.Options{LongPoll: f.lp, Logger: quiet, Connect: opts.Connect}))
	f.srv = httptest.NewServer(mux)
	f.url = f.srv.URL + "/socket/longpoll"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := f.lp.Shutdown(ctx); err != nil {
			t.Errorf("longpoll shutdown: %v", err)
		}
		if err := f.ep.Shutdown(ctx); err != nil {
			t.Errorf("endpoint shutdown: %v", err)
		}
		f.srv.Close()
	})
	return f
}

// reply is a decoded long-poll answer.
type reply struct {
	Status   int      `json:"status"`
	Token    *string  `json:"token"`
	Messages []string `json:"messages"`
}

func (f *fixture) do(method, rawURL string, header http.Header, body string) reply {
	f.t.Helper()
	req, err := http.NewRequest(method, rawURL, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("%s: HTTP %d %s", method, resp.StatusCode, data)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		f.t.Errorf("Content-Type = %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		f.t.Errorf("Cache-Control = %q", cc)
	}
	var r reply
	if err := json.Unmarshal(data, &r); err != nil {
		f.t.Fatalf("%s: body %q: %v", method, data, err)
	}
	return r
}

// open creates a session (first GET) and returns its token.
func (f *fixture) open(query string) string {
	f.t.Helper()
	r := f.do(http.MethodGet, f.url+"?"+query, nil, "")
	if r.Status != 410 || r.Token == nil || *r.Token == "" || r.Messages == nil {
		f.t.Fatalf("first GET = %+v, want 410 with a token", r)
	}
	return *r.Token
}

func (f *fixture) get(token string) reply {
	f.t.Helper()
	return f.do(http.MethodGet, f.url+"?vsn=2.0.0&token="+url.QueryEscape(token), nil, "")
}

func ndjson() http.Header { return http.Header{"Content-Type": {"application/x-ndjson"}} }

func (f *fixture) post(token string, lines ...string) int {
	f.t.Helper()
	return f.do(http.MethodPost, f.url+"?vsn=2.0.0&token="+url.QueryEscape(token), ndjson(), strings.Join(lines, "\n")).Status
}

// collect polls until n messages arrived and returns them decoded.
func (f *fixture) collect(token string, n int) [][]any {
	f.t.Helper()
	var out [][]any
	for len(out) < n {
		r := f.get(token)
		switch r.Status {
		case 200:
			for _, m := range r.Messages {
				var frame []any
				if err := json.Unmarshal([]byte(m), &frame); err != nil {
					f.t.Fatalf("message %q is not a v2 frame: %v", m, err)
				}
				out = append(out, frame)
			}
		case 204:
		default:
			f.t.Fatalf("poll status %d with %d of %d messages", r.Status, len(out), n)
		}
	}
	return out
}

func (f *fixture) wait(c <-chan error) error {
	f.t.Helper()
	select {
	case err := <-c:
		return err
	case <-time.After(5 * time.Second):
		f.t.Fatal("timed out")
		return nil
	}
}

// answer waits for the reply of a GET running in the background.
func (f *fixture) answer(c <-chan reply, what string) reply {
	f.t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(5 * time.Second):
		f.t.Fatalf("%s did not answer", what)
		return reply{}
	}
}

func (f *fixture) waitReleased() {
	f.t.Helper()
	select {
	case <-f.released:
	case <-time.After(5 * time.Second):
		f.t.Fatal("session not released")
	}
}

const join = `["1","1","room:a","phx_join",{}]`

func TestFirstGetOpensSession(t *testing.T) {
	f := newFixture(t, Options{})
	r := f.do(http.MethodGet, f.url+"?vsn=2.0.0&", http.Header{"Accept": {"application/json"}}, "")
	if r.Status != 410 || r.Token == nil || len(r.Messages) != 0 || r.Messages == nil {
		t.Fatalf("got %+v", r)
	}
	if n := len(*r.Token); n != 22+1+43 {
		t.Errorf("token %q has %d characters", *r.Token, n)
	}
	if f.lp.Sessions() != 1 || f.ep.Sessions() != 1 {
		t.Errorf("sessions: longpoll %d, engine %d", f.lp.Sessions(), f.ep.Sessions())
	}
	if other := f.open("vsn=2.0.0"); other == *r.Token {
		t.Error("two sessions got the same token")
	}
}

func TestJoinPushPoll(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.open("vsn=2.0.0&user%5Bid%5D=7")
	if got := f.post(tok, join, `["1","2","room:a","echo",{"hello":"<wörld>"}]`); got != 200 {
		t.Fatalf("POST status %d", got)
	}
	msgs := f.collect(tok, 2)
	want := [][]any{
		{"1", "1", "room:a", "phx_reply", map[string]any{"status": "ok", "response": map[string]any{
			"transport": "longpoll", "params": map[string]any{"vsn": "2.0.0", "user": map[string]any{"id": "7"}}}}},
		{"1", "2", "room:a", "phx_reply", map[string]any{"status": "ok", "response": map[string]any{"hello": "<wörld>"}}},
	}
	if d := cmp.Diff(want, msgs); d != "" {
		t.Errorf("messages (-want +got):\n%s", d)
	}
	// Broadcasts arrive on the next poll.
	if n, err := f.ep.Broadcast(context.Background(), "room:a", "news", map[string]int{"n": 1}); err != nil || n != 1 {
		t.Fatalf("broadcast: %d, %v", n, err)
	}
	got := f.collect(tok, 1)
	if d := cmp.Diff([][]any{{nil, nil, "room:a", "news", map[string]any{"n": float64(1)}}}, got); d != "" {
		t.Errorf("broadcast (-want +got):\n%s", d)
	}
}

func TestTokenInHeader(t *testing.T) {
	f := newFixture(t, Options{PollTimeout: 20 * time.Millisecond})
	tok := f.open("vsn=2.0.0")
	hdr := http.Header{"X-Phoenix-Longpoll-Token": {tok}, "Content-Type": {"application/x-ndjson"}}
	if r := f.do(http.MethodPost, f.url+"?vsn=2.0.0", hdr, join); r.Status != 200 {
		t.Fatalf("POST with header token: %d", r.Status)
	}
	r := f.do(http.MethodGet, f.url+"?vsn=2.0.0", http.Header{"X-Phoenix-Longpoll-Token": {tok}}, "")
	if r.Status != 200 || len(r.Messages) != 1 || *r.Token != tok {
		t.Fatalf("GET with header token: %+v", r)
	}
	// The header wins over the query.
	r = f.do(http.MethodGet, f.url+"?vsn=2.0.0&token=bogus", http.Header{"X-Phoenix-Longpoll-Token": {tok}}, "")
	if r.Status == 410 {
		t.Fatalf("header token ignored: %+v", r)
	}
}

func TestLastTokenQueryValueWins(t *testing.T) {
	var mu sync.Mutex
	var seen []any
	f := newFixture(t, Options{Connect: func(r *http.Request, info *phx.ConnectInfo) error {
		mu.Lock()
		seen = append(seen, info.Params["token"])
		mu.Unlock()
		return nil
	}})
	// phoenix.js ≤ 1.8.12 appends an empty "&" before a session exists and
	// "&token=<session>" after the app's own params afterwards.
	tok := f.open("token=app-secret&vsn=2.0.0&")
	if r := f.do(http.MethodPost, f.url+"?token=app-secret&vsn=2.0.0&token="+tok, ndjson(), join); r.Status != 200 {
		t.Fatalf("POST: %d", r.Status)
	}
	r := f.do(http.MethodGet, f.url+"?token=app-secret&vsn=2.0.0&token="+tok, nil, "")
	if r.Status != 200 || *r.Token != tok {
		t.Fatalf("GET: %+v", r)
	}
	// The first value alone is not a session.
	if r := f.do(http.MethodGet, f.url+"?token="+tok+"&vsn=2.0.0&token=app-secret", nil, ""); r.Status != 410 {
		t.Fatalf("first token value used: %+v", r)
	}
	// An expired session's token is not handed to the connect hook as the
	// app's "token" parameter.
	f.lp.mu.Lock()
	s := f.lp.sessions[mustID(t, f.lp, tok)]
	f.lp.mu.Unlock()
	s.sess.Close(phx.ErrDisconnected)
	f.waitReleased()
	if r := f.do(http.MethodGet, f.url+"?token=app-secret&vsn=2.0.0&token="+tok, nil, ""); r.Status != 410 || *r.Token == tok {
		t.Fatalf("stale token: %+v", r)
	}
	// Nor when a client sends it in the header and in the query at once.
	hdr := http.Header{"X-Phoenix-Longpoll-Token": {tok}}
	if r := f.do(http.MethodGet, f.url+"?token=app-secret&vsn=2.0.0&token="+tok, hdr, ""); r.Status != 410 || *r.Token == tok {
		t.Fatalf("stale token in header and query: %+v", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if d := cmp.Diff([]any{"app-secret", "app-secret", "app-secret", "app-secret"}, seen[len(seen)-4:]); d != "" {
		t.Errorf("connect params token (-want +got):\n%s", d)
	}
}

func mustID(t *testing.T, h *Handler, token string) string {
	t.Helper()
	id, ok := h.tokens.verify(token)
	if !ok {
		t.Fatalf("token %q does not verify", token)
	}
	return id
}

func TestPollWindow204(t *testing.T) {
	f := newFixture(t, Options{PollTimeout: 30 * time.Millisecond})
	tok := f.open("vsn=2.0.0")
	r := f.get(tok)
	if r.Status != 204 || *r.Token != tok || r.Messages == nil || len(r.Messages) != 0 {
		t.Fatalf("got %+v", r)
	}
}

func TestHeldPollAnswersWhenFramesArrive(t *testing.T) {
	f := newFixture(t, Options{PollTimeout: time.Minute})
	tok := f.open("vsn=2.0.0")
	f.post(tok, join)
	f.collect(tok, 1)
	polling := make(chan struct{}, 1)
	f.lp.onPoll = func() { polling <- struct{}{} }
	done := make(chan reply, 1)
	go func() { done <- f.get(tok) }()
	<-polling
	f.ep.Broadcast(context.Background(), "room:a", "ev", nil)
	if r := f.answer(done, "held GET"); r.Status != 200 || len(r.Messages) != 1 {
		t.Fatalf("got %+v", r)
	}
}

func TestNewerPollReplacesOlder(t *testing.T) {
	f := newFixture(t, Options{PollTimeout: time.Minute})
	tok := f.open("vsn=2.0.0")
	polling := make(chan struct{}, 2)
	f.lp.onPoll = func() { polling <- struct{}{} }
	first, second := make(chan reply, 1), make(chan reply, 1)
	go func() { first <- f.get(tok) }()
	<-polling
	go func() { second <- f.get(tok) }()
	<-polling
	if r := f.answer(first, "replaced GET"); r.Status != 204 {
		t.Fatalf("replaced GET: %+v", r)
	}
	f.post(tok, join)
	if r := f.answer(second, "newer GET"); r.Status != 200 || len(r.Messages) != 1 {
		t.Fatalf("newer GET: %+v", r)
	}
}

func TestUnknownAndForgedTokens(t *testing.T) {
	f := newFixture(t, Options{Secret: []byte("deployment-a")})
	other := New(f.ep, Options{Secret: []byte("deployment-b"), Logger: quiet})
	defer other.Close()
	foreign := other.tokens.sign(newID())
	valid := f.open("vsn=2.0.0")
	idPart, _, _ := strings.Cut(valid, ".")
	forged := idPart + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	unknownSigned := f.lp.tokens.sign(newID())
	for name, tok := range map[string]string{
		"garbage": "nope", "other secret": foreign, "forged mac": forged, "unknown id": unknownSigned,
	} {
		t.Run(name, func(t *testing.T) {
			if got := f.post(tok, join); got != 410 {
				t.Errorf("POST status %d, want 410", got)
			}
			r := f.get(tok)
			if r.Status != 410 || r.Token == nil || *r.Token == tok || *r.Token == valid {
				t.Errorf("GET = %+v, want 410 with a new token", r)
			}
		})
	}
	if got := f.post(valid, join); got != 200 {
		t.Errorf("the valid session was disturbed: %d", got)
	}
}

func TestIdleSessionReaped(t *testing.T) {
	f := newFixture(t, Options{IdleTimeout: 20 * time.Millisecond})
	tok := f.open("vsn=2.0.0")
	f.post(tok, join) // POSTs do not keep a session alive
	if err := f.wait(f.ch.terminated); !errors.Is(err, phx.ErrDisconnected) {
		t.Fatalf("channel ended with %v, want ErrDisconnected", err)
	}
	f.waitReleased()
	if f.lp.Sessions() != 0 || f.ep.Sessions() != 0 {
		t.Errorf("sessions left: longpoll %d, engine %d", f.lp.Sessions(), f.ep.Sessions())
	}
	if got := f.post(tok, join); got != 410 {
		t.Errorf("POST after reaping: %d", got)
	}
	r := f.get(tok)
	if r.Status != 410 || *r.Token == tok {
		t.Errorf("GET after reaping: %+v", r)
	}
}

func TestHeldPollKeepsSessionAlive(t *testing.T) {
	f := newFixture(t, Options{IdleTimeout: 100 * time.Millisecond, PollTimeout: 400 * time.Millisecond})
	tok := f.open("vsn=2.0.0")
	f.post(tok, join)
	f.collect(tok, 1)
	if r := f.get(tok); r.Status != 204 { // held well past IdleTimeout
		t.Fatalf("held GET: %+v", r)
	}
	select {
	case err := <-f.ch.terminated:
		t.Fatalf("session reaped during a held GET: %v", err)
	default:
	}
	if got := f.post(tok, `["1","2","room:a","echo",{}]`); got != 200 {
		t.Fatalf("POST after held GET: %d", got)
	}
}

func TestBatchesInOrder(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.open("vsn=2.0.0")
	f.post(tok, join)
	var lines []string
	for i := range 150 {
		lines = append(lines, fmt.Sprintf(`["1","%d","room:a","seq",{"i":%d}]`, i+2, i))
	}
	// phoenix.js ≥ 1.8.8 splits 150 pushes into POSTs of 100 and 50 lines.
	if f.post(tok, lines[:100]...) != 200 || f.post(tok, lines[100:]...) != 200 {
		t.Fatal("POST refused")
	}
	msgs := f.collect(tok, 151)
	for i, m := range msgs[1:] {
		if m[1] != fmt.Sprint(i+2) {
			t.Fatalf("reply %d has ref %v", i, m[1])
		}
	}
	want := make([]int, 150)
	for i := range want {
		want[i] = i
	}
	if d := cmp.Diff(want, f.ch.sequence()); d != "" {
		t.Errorf("order (-want +got):\n%s", d)
	}
}

func TestLargeBatchFullyProcessed(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.open("vsn=2.0.0")
	lines := []string{join}
	for i := range 1000 {
		lines = append(lines, fmt.Sprintf(`["1","%d","room:a","seq",{"i":%d}]`, i+2, i))
	}
	body := strings.Join(lines, "\r\n") + "\n" // CRLF and a trailing newline are fine
	if r := f.do(http.MethodPost, f.url+"?vsn=2.0.0&token="+tok, ndjson(), body); r.Status != 200 {
		t.Fatalf("POST: %d", r.Status)
	}
	if got := len(f.collect(tok, 1001)); got != 1001 {
		t.Fatalf("%d replies", got)
	}
	if got := len(f.ch.sequence()); got != 1000 {
		t.Fatalf("%d of 1000 lines processed", got)
	}
}

// binaryPush encodes a v2 client binary push.
func binaryPush(joinRef, ref, topic, event string, payload []byte) []byte {
	b := []byte{0, byte(len(joinRef)), byte(len(ref)), byte(len(topic)), byte(len(event))}
	b = append(b, joinRef+ref+topic+event...)
	return append(b, payload...)
}

func TestBinaryLine(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.open("vsn=2.0.0")
	payload := []byte{0, 1, 2, 250, 255}
	line := base64.StdEncoding.EncodeToString(binaryPush("1", "2", "room:a", "bin", payload))
	unpadded := base64.RawStdEncoding.EncodeToString(binaryPush("1", "3", "room:a", "bin", payload[:4]))
	if got := f.post(tok, join, line, unpadded, `["1","4","room:a","push_binary",{}]`); got != 200 {
		t.Fatalf("POST: %d", got)
	}
	msgs := f.collect(tok, 4)
	resp := func(i int) any { return msgs[i][4].(map[string]any)["response"] }
	if d := cmp.Diff(map[string]any{"binary": true, "b64": base64.StdEncoding.EncodeToString(payload)}, resp(1)); d != "" {
		t.Errorf("binary line (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]any{"binary": true, "b64": base64.StdEncoding.EncodeToString(payload[:4])}, resp(2)); d != "" {
		t.Errorf("unpadded binary line (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]any{"refused": true}, resp(3)); d != "" {
		t.Errorf("binary push over long-poll (-want +got):\n%s", d)
	}
}

func TestSingleFrameWithoutNDJSON(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.open("vsn=2.0.0")
	hdr := http.Header{"Content-Type": {"text/plain"}}
	if r := f.do(http.MethodPost, f.url+"?vsn=2.0.0&token="+tok, hdr, join); r.Status != 200 {
		t.Fatalf("POST: %d", r.Status)
	}
	if r := f.do(http.MethodPost, f.url+"?vsn=2.0.0&token="+tok, nil, ""); r.Status != 200 {
		t.Fatalf("empty POST: %d", r.Status)
	}
	if got := f.collect(tok, 1); got[0][3] != "phx_reply" {
		t.Fatalf("got %v", got)
	}
}

func TestMalformedLineClosesSession(t *testing.T) {
	for name, bad := range map[string]string{"bad base64": "%%%not-base64", "bad frame": `["1","2"]`} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, Options{})
			tok := f.open("vsn=2.0.0")
			if got := f.post(tok, join, bad, `["1","3","room:a","seq",{"i":1}]`); got != 400 {
				t.Fatalf("POST: %d, want 400", got)
			}
			var ce *phx.CloseError
			if err := f.wait(f.ch.terminated); !errors.As(err, &ce) || ce.Code != phx.CloseInvalidData {
				t.Errorf("channel ended with %v, want close 1007", err)
			}
			if len(f.ch.sequence()) != 0 {
				t.Error("a line after the malformed one was processed")
			}
			f.waitReleased()
			if r := f.get(tok); r.Status != 410 {
				t.Errorf("GET after malformed POST: %+v", r)
			}
		})
	}
}

func TestBodyCap(t *testing.T) {
	f := newFixture(t, Options{MaxBodyBytes: 1000})
	tok := f.open("vsn=2.0.0")
	var lines []string
	lines = append(lines, join)
	for i := range 40 {
		lines = append(lines, fmt.Sprintf(`["1","%d","room:a","seq",{"i":%d}]`, i+2, i))
	}
	if got := f.post(tok, lines...); got != 413 {
		t.Errorf("POST with Content-Length over the cap: %d", got)
	}
	// Without Content-Length (chunked) the cap applies while reading.
	req, _ := http.NewRequest(http.MethodPost, f.url+"?vsn=2.0.0&token="+tok, io.MultiReader(strings.NewReader(strings.Join(lines, "\n"))))
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.ContentLength = -1
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var r reply
	json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if r.Status != 413 {
		t.Errorf("chunked POST over the cap: %+v", r)
	}
	if n := len(f.ch.sequence()); n != 0 {
		t.Errorf("%d frames of an oversized body were processed", n)
	}
	select {
	case <-f.ch.joins:
		t.Error("the join of an oversized body was processed")
	default:
	}
	if got := f.post(tok, lines[:5]...); got != 200 {
		t.Errorf("POST under the cap: %d", got)
	}
}

func TestConnectRefusals(t *testing.T) {
	f := newFixture(t, Options{Connect: func(r *http.Request, info *phx.ConnectInfo) error {
		if info.Transport != "longpoll" {
			return fmt.Errorf("transport %q", info.Transport)
		}
		switch info.Params["mode"] {
		case "deny":
			return handler.ErrRefused
		case "limit":
			return &handler.HTTPError{Status: http.StatusTooManyRequests}
		case "down":
			return &handler.HTTPError{Status: http.StatusServiceUnavailable}
		case "auth":
			if info.AuthToken != "s3cret" {
				return handler.ErrRefused
			}
		}
		return nil
	}})
	for _, tt := range []struct {
		query  string
		header http.Header
		want   int
	}{
		{"vsn=3.0.0", nil, 403},
		{"vsn=2.1.0", nil, 403},
		{"vsn=2.0.0&mode=deny", nil, 403},
		{"vsn=2.0.0&mode=limit", nil, 403},
		{"vsn=2.0.0&mode=down", nil, 500},
		{"vsn=2.0.0&mode=auth", nil, 403},
		{"vsn=2.0.0&mode=auth", http.Header{"X-Phoenix-Authtoken": {"s3cret"}}, 410},
		{"vsn=1.0.0", nil, 410},
	} {
		r := f.do(http.MethodGet, f.url+"?"+tt.query, tt.header, "")
		if r.Status != tt.want {
			t.Errorf("%s: status %d, want %d", tt.query, r.Status, tt.want)
		}
		if tt.want == 403 && r.Token != nil {
			t.Errorf("%s: refusal carries a token", tt.query)
		}
	}
}

func TestOriginPolicy(t *testing.T) {
	policy, err := cors.NewPolicy(cors.Options{Origins: []string{"http://app.test:3000"}})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, Options{Origin: policy})
	evil := http.Header{"Origin": {"http://evil.test"}}
	if r := f.do(http.MethodGet, f.url+"?vsn=2.0.0", evil, ""); r.Status != 403 || r.Token != nil {
		t.Errorf("GET from a refused origin: %+v", r)
	}
	if f.lp.Sessions() != 0 {
		t.Error("a refused origin created a session")
	}
	tok := f.open("vsn=2.0.0") // no Origin: non-browser client
	evilPost := http.Header{"Origin": {"http://evil.test"}, "Content-Type": {"application/x-ndjson"}}
	if r := f.do(http.MethodPost, f.url+"?vsn=2.0.0&token="+tok, evilPost, join); r.Status != 403 {
		t.Errorf("POST from a refused origin: %+v", r)
	}
	evilPreflight := http.Header{"Origin": {"http://evil.test"}, "Access-Control-Request-Method": {"POST"}}
	if r := f.do(http.MethodOptions, f.url, evilPreflight, ""); r.Status != 403 {
		t.Errorf("preflight from a refused origin: %+v", r)
	}

	// The allowed origin gets CORS headers and a preflight answer.
	req, _ := http.NewRequest(http.MethodOptions, f.url+"?vsn=2.0.0", nil)
	req.Header.Set("Origin", "http://app.test:3000")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,x-phoenix-longpoll-token")
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 || resp.Header.Get("Access-Control-Allow-Origin") != "http://app.test:3000" ||
		resp.Header.Get("Access-Control-Allow-Headers") != "content-type,x-phoenix-longpoll-token" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	req, _ = http.NewRequest(http.MethodGet, f.url+"?vsn=2.0.0", nil)
	req.Header.Set("Origin", "http://app.test:3000")
	resp, err = f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var r reply
	json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if r.Status != 410 || resp.Header.Get("Access-Control-Allow-Origin") != "http://app.test:3000" {
		t.Errorf("GET from the allowed origin: %+v %v", r, resp.Header)
	}
}

func TestDefaultOriginIsSameHost(t *testing.T) {
	f := newFixture(t, Options{})
	u, _ := url.Parse(f.srv.URL)
	same := http.Header{"Origin": {"http://" + u.Hostname() + ":1234"}}
	if r := f.do(http.MethodGet, f.url+"?vsn=2.0.0", same, ""); r.Status != 410 {
		t.Errorf("same host, other port: %+v", r)
	}
	if r := f.do(http.MethodGet, f.url+"?vsn=2.0.0", http.Header{"Origin": {"null"}}, ""); r.Status != 403 {
		t.Errorf("null origin: %+v", r)
	}
}

func TestMethods(t *testing.T) {
	f := newFixture(t, Options{})
	for method, want := range map[string]int{http.MethodOptions: 200, http.MethodPut: 400, http.MethodDelete: 400} {
		req, _ := http.NewRequest(method, f.url, nil)
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: HTTP %d, want %d", method, resp.StatusCode, want)
		}
	}
}

func TestShutdownReleasesHeldPoll(t *testing.T) {
	for _, which := range []string{"handler", "endpoint"} {
		t.Run(which, func(t *testing.T) {
			f := newFixture(t, Options{PollTimeout: time.Minute})
			tok := f.open("vsn=2.0.0")
			f.post(tok, join)
			f.collect(tok, 1)
			polling := make(chan struct{}, 1)
			f.lp.onPoll = func() { polling <- struct{}{} }
			done := make(chan reply, 1)
			go func() { done <- f.get(tok) }()
			<-polling
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var err error
			if which == "handler" {
				err = f.lp.Shutdown(ctx)
			} else {
				err = f.ep.Shutdown(ctx)
			}
			if err != nil {
				t.Fatalf("shutdown: %v", err)
			}
			if err := f.wait(f.ch.terminated); !errors.Is(err, phx.ErrShutdown) {
				t.Errorf("channel ended with %v", err)
			}
			if r := f.answer(done, "held GET"); r.Status != 500 {
				t.Errorf("held GET answered %+v, want 500 (no new sessions)", r)
			}
			if f.lp.Sessions() != 0 || f.ep.Sessions() != 0 {
				t.Errorf("sessions left: longpoll %d, engine %d", f.lp.Sessions(), f.ep.Sessions())
			}
		})
	}
}

func TestConcurrentPostsSerialized(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.open("vsn=2.0.0")
	f.post(tok, join)
	var wg sync.WaitGroup
	for p := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lines []string
			for i := range 50 {
				lines = append(lines, fmt.Sprintf(`["1","%d","room:a","seq",{"i":%d}]`, p*1000+i, p*1000+i))
			}
			if got := f.post(tok, lines...); got != 200 {
				t.Errorf("POST %d: %d", p, got)
			}
		}()
	}
	wg.Wait()
	f.collect(tok, 401)
	// Each POST's lines stay contiguous and in order.
	seq := f.ch.sequence()
	if len(seq) != 400 {
		t.Fatalf("%d frames processed", len(seq))
	}
	for i := 0; i < len(seq); i += 50 {
		for j := 1; j < 50; j++ {
			if seq[i+j] != seq[i]+j {
				t.Fatalf("POSTs interleaved at %d: %v", i+j, seq[i:i+50])
			}
		}
	}
}
