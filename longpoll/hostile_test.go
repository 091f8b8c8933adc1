package longpoll

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

// TestInvalidUTF8Body: a POST body that is not valid UTF-8 is answered
// {"status":400} (HTTP 200, as every long-poll answer) without processing
// any of its frames, and ends the session with 1007, as a WebSocket text
// frame that is not UTF-8 does.
func TestInvalidUTF8Body(t *testing.T) {
	for name, bad := range map[string]string{
		"payload":    "[\"1\",\"2\",\"room:a\",\"echo\",{\"body\":\"hi \xff\xfe\"}]",
		"ref":        "[\"1\",\"\xc3\",\"room:a\",\"echo\",{}]",
		"stray byte": "\x80",
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, Options{})
			tok := f.open("vsn=2.0.0")
			if got := f.post(tok, join); got != 200 {
				t.Fatalf("join POST: %d", got)
			}
			f.collect(tok, 1)
			if got := f.post(tok, `["1","3","room:a","seq",{"i":1}]`, bad, `["1","4","room:a","seq",{"i":2}]`); got != 400 {
				t.Fatalf("POST: %d, want 400", got)
			}
			var ce *phx.CloseError
			if err := f.wait(f.ch.terminated); !errors.As(err, &ce) || ce.Code != phx.CloseInvalidData {
				t.Errorf("channel ended with %v, want close 1007", err)
			}
			if seq := f.ch.sequence(); len(seq) != 0 {
				t.Errorf("frames %v of the refused body were processed", seq)
			}
			f.waitReleased()
			if r := f.get(tok); r.Status != 410 {
				t.Errorf("GET after the refused POST: %+v", r)
			}
		})
	}
}

// TestParamLimits: the query limits hold for long-poll too, checked before
// the session token is looked up and before the connect hook: refused
// requests get {"status":403} and open no session.
func TestParamLimits(t *testing.T) {
	var hooked atomic.Int32
	f := newFixture(t, Options{
		ParamLimits: handler.ParamLimits{MaxQueryBytes: 200, MaxParams: 4, MaxDepth: 2},
		Connect:     func(*http.Request, *phx.ConnectInfo) error { hooked.Add(1); return nil },
	})
	pad := func(n int) string { q := "vsn=2.0.0&pad="; return q + strings.Repeat("x", n-len(q)) }
	for _, tt := range []struct {
		name, query string
		want        int
	}{
		{"size at the edge", pad(200), 410},
		{"size past the edge", pad(201), 403},
		{"count at the edge", "vsn=2.0.0&a=1&b=2&c=3", 410},
		{"count past the edge", "vsn=2.0.0&a=1&b=2&c=3&d=4", 403},
		{"depth at the edge", "vsn=2.0.0&a[b][]=1", 410},
		{"depth past the edge", "vsn=2.0.0&a[b][c][]=1", 403},
		{"escaped depth past the edge", "vsn=2.0.0&a%5Bb%5D%5Bc%5D%5B%5D=1", 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before, sessions := hooked.Load(), f.lp.Sessions()
			r := f.do(http.MethodGet, f.url+"?"+tt.query, nil, "")
			if r.Status != tt.want {
				t.Fatalf("GET: status %d, want %d", r.Status, tt.want)
			}
			if tt.want == 410 {
				return
			}
			if r.Token != nil || hooked.Load() != before || f.lp.Sessions() != sessions {
				t.Errorf("a refused query got a token (%v), ran the hook or opened a session", r.Token)
			}
		})
	}
	// a POST of a live session with a hostile query is refused unprocessed
	tok := f.open("vsn=2.0.0")
	long := f.url + "?vsn=2.0.0&token=" + url.QueryEscape(tok) + "&pad=" + strings.Repeat("x", 200)
	if r := f.do(http.MethodPost, long, ndjson(), join); r.Status != 403 {
		t.Errorf("POST with a long query: %+v, want 403", r)
	}
	select {
	case <-f.ch.joins:
		t.Error("the POST of a refused query was processed")
	default:
	}
	// the hostile query of the issue: ~870 KB of a[b][b]…
	hostile := f.url + "?vsn=2.0.0&a" + strings.Repeat("[b]", 290_000) + "=1"
	if r := f.do(http.MethodGet, hostile, nil, ""); r.Status != 403 || r.Token != nil {
		t.Errorf("hostile query: %+v, want 403", r)
	}
}

// TestLongTopicRefused: the engine's name limits hold over long-poll.
func TestLongTopicRefused(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.open("vsn=2.0.0")
	topic := "room:" + strings.Repeat("x", 10_000)
	if got := f.post(tok, `["1","1","`+topic+`","phx_join",{}]`, join); got != 200 {
		t.Fatalf("POST: %d", got)
	}
	got := f.collect(tok, 2)
	if got[0][2] != topic || got[0][4].(map[string]any)["response"].(map[string]any)["reason"] != "topic too long" {
		t.Errorf("long topic join answered %.200v", got[0])
	}
	if got[1][2] != "room:a" || got[1][4].(map[string]any)["status"] != "ok" {
		t.Errorf("join after it answered %v", got[1])
	}
}

// TestSessionCaps: GETs that would open a session past MaxSessions or
// MaxSessionsPerIP are answered {"status":500} (phoenix.js reconnects with
// its backoff) without running the connect hook; a released session frees
// its slot; a refused connect takes none.
func TestSessionCaps(t *testing.T) {
	var hooked atomic.Int32
	f := newFixture(t, Options{
		MaxSessions:      4,
		MaxSessionsPerIP: 2,
		ClientIP:         func(r *http.Request) string { return r.Header.Get("X-Test-Ip") },
		Connect: func(_ *http.Request, info *phx.ConnectInfo) error {
			hooked.Add(1)
			if info.Params["deny"] != nil {
				return handler.ErrRefused
			}
			return nil
		},
	})
	from := func(ip string) http.Header { return http.Header{"X-Test-Ip": {ip}} }
	openFrom := func(ip string, want int) *string {
		t.Helper()
		before := hooked.Load()
		r := f.do(http.MethodGet, f.url+"?vsn=2.0.0", from(ip), "")
		if r.Status != want {
			t.Fatalf("GET from %s: status %d, want %d (%d sessions)", ip, r.Status, want, f.lp.Sessions())
		}
		if want == 500 && (hooked.Load() != before || r.Token != nil) {
			t.Errorf("a refused GET ran the connect hook or got a token")
		}
		return r.Token
	}
	// a refused connect does not keep its reservation
	if r := f.do(http.MethodGet, f.url+"?vsn=2.0.0&deny=1", from("10.0.0.1"), ""); r.Status != 403 {
		t.Fatalf("denied connect: %+v", r)
	}
	// per IP: at the edge, then past it; another address is not affected
	first := openFrom("10.0.0.1", 410)
	openFrom("10.0.0.1", 410)
	openFrom("10.0.0.1", 500)
	// IPv6 addresses of one /64 share a cap
	openFrom("2001:db8::1", 410)
	openFrom("2001:db8::2", 410)
	openFrom("2001:db8::3", 500)
	// total: 4 sessions are open
	openFrom("10.0.0.2", 500)
	if n := f.lp.Sessions(); n != 4 {
		t.Fatalf("%d sessions, want 4", n)
	}
	// closing one frees its slot, for its address and in total
	if got := f.post(*first, "%%%not-base64"); got != 400 {
		t.Fatalf("malformed POST: %d", got)
	}
	f.waitReleased()
	openFrom("10.0.0.2", 410)
	openFrom("10.0.0.3", 500)
}

// TestSessionCapDefaultsToRemoteAddr: without ClientIP the per-client cap
// counts by the TCP peer's address (all of this test's requests come from
// 127.0.0.1); its defaults are documented.
func TestSessionCapDefaultsToRemoteAddr(t *testing.T) {
	f := newFixture(t, Options{MaxSessionsPerIP: 1})
	f.open("vsn=2.0.0")
	if r := f.do(http.MethodGet, f.url+"?vsn=2.0.0", http.Header{"X-Forwarded-For": {"10.9.9.9"}}, ""); r.Status != 500 {
		t.Errorf("second session from 127.0.0.1: %+v, want 500", r)
	}
	if o := New(f.ep, Options{}).opts; o.MaxSessions != 10_000 || o.MaxSessionsPerIP != 100 {
		t.Errorf("defaults %d/%d, want 10000/100", o.MaxSessions, o.MaxSessionsPerIP)
	}
	for in, want := range map[string]string{
		"192.0.2.1:80":               "192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[::ffff:192.0.2.1]:80":      "192.0.2.1",
		"pipe":                       "pipe",
	} {
		if got := clientKey(RemoteIP(&http.Request{RemoteAddr: in})); got != want {
			t.Errorf("client of %s = %q, want %q", in, got, want)
		}
	}
}

// TestHostileQueryMemory: the ~870 KB a[b][b]… query, which made each
// long-poll GET hold ~100 MiB for IdleTimeout, is refused having allocated
// next to nothing, before the token lookup parses the query.
func TestHostileQueryMemory(t *testing.T) {
	f := newFixture(t, Options{})
	target := "/socket/longpoll?vsn=2.0.0&a" + strings.Repeat("[b]", 290_000) + "=1"
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req := httptest.NewRequest(method, target, nil)
		var before, after runtime.MemStats
		const n = 5
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range n {
			rec := httptest.NewRecorder()
			f.lp.ServeHTTP(rec, req)
			if !strings.Contains(rec.Body.String(), `"status":403`) {
				t.Fatalf("%s: %q, want status 403", method, rec.Body.String())
			}
		}
		runtime.ReadMemStats(&after)
		perCall := (after.TotalAlloc - before.TotalAlloc) / n
		t.Logf("%s with a %d-byte query: %d bytes allocated", method, len(target), perCall)
		if perCall > 16<<10 {
			t.Errorf("%s: refusing the hostile query allocated %d bytes", method, perCall)
		}
	}
	if n := f.lp.Sessions(); n != 0 {
		t.Errorf("%d sessions opened", n)
	}
}

func TestForwardedFor(t *testing.T) {
	clientIP := ForwardedFor(netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8"))
	for _, tt := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"untrusted peer: its own address", "192.0.2.7:1234", []string{"198.51.100.1"}, "192.0.2.7"},
		{"one trusted proxy", "10.0.0.1:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"client claims are skipped", "10.0.0.1:80", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"a chain of trusted proxies", "10.0.0.1:80", []string{"1.2.3.4, 198.51.100.1, 10.0.0.9", "10.1.1.1"}, "198.51.100.1"},
		{"IPv6 proxy and client", "[fd00::1]:80", []string{"2001:db8::5"}, "2001:db8::5"},
		{"4-in-6 client", "10.0.0.1:80", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"no header", "10.0.0.1:80", nil, "10.0.0.1"},
		{"garbage before a client", "10.0.0.1:80", []string{"198.51.100.1, nonsense"}, "10.0.0.1"},
		{"only trusted hops", "10.0.0.1:80", []string{"10.0.0.2"}, "10.0.0.1"},
	} {
		r := &http.Request{RemoteAddr: tt.peer, Header: http.Header{"X-Forwarded-For": tt.xff}}
		if got := clientIP(r); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
