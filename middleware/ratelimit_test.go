package middleware

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/websocket"

	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

// clock is a manual time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func limiter(opts RateLimitOptions) (*RateLimiter, *clock) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := NewRateLimiter(opts)
	l.now = c.now
	return l, c
}

func TestTokenBucket(t *testing.T) {
	l, c := limiter(RateLimitOptions{Rate: 2, Burst: 3})
	var got []bool
	for range 4 {
		got = append(got, l.Allow("a"))
	}
	if d := cmp.Diff([]bool{true, true, true, false}, got); d != "" {
		t.Fatalf("burst (-want +got):\n%s", d)
	}
	if !l.Allow("b") {
		t.Fatal("another client was limited")
	}
	if ok, wait := l.take("a"); ok || wait != 500*time.Millisecond {
		t.Fatalf("take = %v, %v; want false, 500ms", ok, wait)
	}
	c.advance(499 * time.Millisecond)
	if l.Allow("a") {
		t.Fatal("refilled too early")
	}
	c.advance(2 * time.Millisecond)
	if !l.Allow("a") || l.Allow("a") {
		t.Fatal("want exactly one token after 0.5s at 2/s")
	}
	c.advance(time.Hour)
	for i := range 3 {
		if !l.Allow("a") {
			t.Fatalf("attempt %d after a long pause refused", i)
		}
	}
	if l.Allow("a") {
		t.Fatal("bucket exceeded its burst after a long pause")
	}
}

func TestBucketsBounded(t *testing.T) {
	l, c := limiter(RateLimitOptions{Rate: 1, Burst: 2, MaxClients: 100})
	for i := range 1000 {
		l.Allow(fmt.Sprint("client-", i))
	}
	if n := l.Len(); n != 100 {
		t.Fatalf("%d buckets held, want the cap 100", n)
	}
	// Idle buckets are full again after Burst/Rate = 2s and are dropped.
	c.advance(1999 * time.Millisecond)
	l.Allow("fresh")
	if n := l.Len(); n != 100 {
		t.Fatalf("%d buckets after 1.999s", n)
	}
	c.advance(2 * time.Millisecond)
	l.Allow("fresh")
	if n := l.Len(); n != 1 {
		t.Fatalf("%d buckets after the idle time, want 1", n)
	}
	// Dropping a full bucket changes nothing for its client.
	l.Allow("x")
	l.Allow("x")
	if l.Allow("x") {
		t.Fatal("burst exceeded")
	}
}

func TestClientIP(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1:1234":             "192.0.2.1",
		"192.0.2.1":                  "192.0.2.1",
		"[::ffff:192.0.2.1]:80":      "192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2::9]:1":        "2001:db8:1:2::/64",
		"@unix":                      "@unix",
	} {
		if got := ClientIP(in); got != want {
			t.Errorf("ClientIP(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRateLimitMiddleware(t *testing.T) {
	l, _ := limiter(RateLimitOptions{Rate: 0.5, Burst: 2})
	r := chi.NewRouter()
	r.Use(RateLimit(l))
	r.Get("/api", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	var codes []int
	var retry string
	for _, addr := range []string{"10.0.0.1:1", "10.0.0.1:2", "10.0.0.1:3", "10.0.0.2:1"} {
		req := httptest.NewRequest(http.MethodGet, "/api", nil)
		req.RemoteAddr = addr
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		codes = append(codes, rec.Code)
		if rec.Code == http.StatusTooManyRequests {
			retry = rec.Header().Get("Retry-After")
		}
	}
	if d := cmp.Diff([]int{200, 200, 429, 200}, codes); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
	if retry != "2" {
		t.Errorf("Retry-After = %q, want 2", retry)
	}
}

func TestLimitConnectWebSocket(t *testing.T) {
	ep := phx.NewEndpoint(phx.Config{Logger: quietLog()})
	l, _ := limiter(RateLimitOptions{Burst: 1})
	var called atomic.Int32
	connect := LimitConnect(l, func(r *http.Request, info *phx.ConnectInfo) error {
		called.Add(1)
		return nil
	})
	srv := httptest.NewServer(handler.New(ep, handler.Options{Connect: connect, Logger: quietLog()}))
	defer srv.Close()
	defer ep.Shutdown(context.Background())
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket/websocket?vsn=2.0.0"
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("first connection: %v", err)
	}
	conn.Close()
	_, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("second connection: %v %v, want 429", err, resp)
	}
	resp.Body.Close()
	if n := called.Load(); n != 1 {
		t.Errorf("connect hook ran %d times, want 1", n)
	}
	if err := LimitConnect(NewRateLimiter(RateLimitOptions{}), nil)(httptest.NewRequest("GET", "/", nil), &phx.ConnectInfo{}); err != nil {
		t.Errorf("nil next: %v", err)
	}
}

// joinCounter accepts joins and counts them.
type joinCounter struct{ joins int }

func (f *joinCounter) Join(ctx context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
	f.joins++
	return map[string]string{"joined": ch.Topic()}, nil
}

func TestLimitJoins(t *testing.T) {
	l, _ := limiter(RateLimitOptions{Burst: 2})
	ep := phx.NewEndpoint(phx.Config{Logger: quietLog(), BeforeJoin: LimitJoins(l)})
	defer ep.Shutdown(context.Background())
	inner := &joinCounter{}
	ep.Handle("room:*", inner)
	sess, err := ep.Open(phx.ConnectInfo{RemoteAddr: "192.0.2.7:5555"}, phx.V2JSON(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Detach()
	for i := range 3 {
		frame := fmt.Sprintf(`["%d","%d","room:%d","phx_join",{}]`, i, i, i)
		if err := sess.Receive([]byte(frame), false); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var replies []any
	for len(replies) < 3 {
		frames, err := sess.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range frames {
			var msg []any
			json.Unmarshal(f.Data, &msg)
			replies = append(replies, msg[4])
		}
	}
	want := []any{
		map[string]any{"status": "ok", "response": map[string]any{"joined": "room:0"}},
		map[string]any{"status": "ok", "response": map[string]any{"joined": "room:1"}},
		map[string]any{"status": "error", "response": map[string]any{"reason": "rate limited"}},
	}
	if d := cmp.Diff(want, replies); d != "" {
		t.Errorf("join replies (-want +got):\n%s", d)
	}
	if inner.joins != 2 {
		t.Errorf("inner Join ran %d times, want 2", inner.joins)
	}
}
