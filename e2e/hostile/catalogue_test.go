package hostile

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// hostileCase is one entry of the catalogue: what the peer does and the
// documented outcome the case asserts.
type hostileCase struct {
	name    string
	outcome string // the documented outcome, for the reader
	run     func(t *testing.T, s *server)
}

// wantClose runs frames on a fresh WebSocket and asserts the close code.
func wantClose(code int, frames ...string) func(t *testing.T, s *server) {
	return func(t *testing.T, s *server) {
		c := dial(t, s.wsURL(""))
		for _, f := range frames {
			c.send(f)
		}
		if got := c.closed(); got != code {
			t.Fatalf("close code %d, want %d", got, code)
		}
	}
}

// wantLPStatus opens a long-poll session, POSTs body and asserts the body
// status; a refused frame must also end the session (a later POST gets 410).
func wantLPStatus(status int, contentType, body string) func(t *testing.T, s *server) {
	return func(t *testing.T, s *server) {
		lp := newLP(t, s, "/socket")
		lp.open()
		code, r := lp.do(http.MethodPost, lp.withToken(lp.token), contentType, []byte(body))
		if code != http.StatusOK || r.Status != status {
			t.Fatalf("POST: HTTP %d body status %d, want 200 {status:%d}", code, r.Status, status)
		}
		if status == 400 {
			if st := lp.post(`["1","1","room:a","phx_join",{}]`); st != 410 {
				t.Fatalf("POST after a malformed frame: status %d, want 410 (session ended)", st)
			}
		}
	}
}

// wantRefused asserts that an upgrade with the extra query is refused
// with status (before the connect step).
func wantRefused(status int, query string) func(t *testing.T, s *server) {
	return func(t *testing.T, s *server) {
		c, got, err := tryDial(s.wsURL(query))
		if err == nil {
			c.Close()
			t.Fatal("upgrade accepted")
		}
		if got != status {
			t.Fatalf("HTTP %d, want %d", got, status)
		}
	}
}

// manyParams is a query of n distinct parameters.
func manyParams(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte('&')
		}
		fmt.Fprintf(&b, "p%d=1", i)
	}
	return b.String()
}

func catalogue() []hostileCase {
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	return []hostileCase{
		// --- WebSocket: malformed frames close with 1007 ---
		{"ws/bad JSON", "close 1007", wantClose(1007, `["1","1","room:a","phx_join",{`)},
		{"ws/not an array", "close 1007", wantClose(1007, `{"topic":"room:a","event":"phx_join"}`)},
		{"ws/wrong arity", "close 1007", wantClose(1007, `["1","1","room:a","phx_join"]`)},
		{"ws/wrong types", "close 1007", wantClose(1007, `["1","1",42,"phx_join",{}]`)},
		{"ws/event not a string", "close 1007", wantClose(1007, `["1","1","room:a",{},{}]`)},
		{"ws/deep nesting", "close 1007 (payload nesting past the JSON decoder's depth)", wantClose(1007,
			`["1","1","room:a","phx_join",{}]`, `["1","2","room:a","echo",{"a":`+deep+`}]`)},
		{"ws/bad binary header", "close 1007", func(t *testing.T, s *server) {
			c := dial(t, s.wsURL(""))
			c.sendBinary([]byte{0, 200, 200, 200, 200, 'x'})
			if got := c.closed(); got != 1007 {
				t.Fatalf("close code %d, want 1007", got)
			}
		}},
		{"ws/invalid UTF-8 in a payload", "close 1007; the room's other subscribers keep their connection", func(t *testing.T, s *server) {
			peer := dial(t, s.wsURL(""))
			peer.join("room:utf8", "1")
			c := dial(t, s.wsURL(""))
			c.join("room:utf8", "1")
			c.send("[\"1\",\"2\",\"room:utf8\",\"shout\",{\"body\":\"hi \xff\xfe\"}]")
			if got := c.closed(); got != 1007 {
				t.Fatalf("close code %d, want 1007", got)
			}
			peer.send(`["1","3","room:utf8","echo",{"still":"here"}]`)
			if r := peer.reply("3"); r.ReplyStatus != "ok" {
				t.Fatalf("the other subscriber: %s", r.raw)
			}
		}},
		{"ws/invalid UTF-8 in a ref", "close 1007, the ref never echoed", wantClose(1007, "[\"1\",\"\xc3\x28\",\"phoenix\",\"heartbeat\",{}]")},
		{"ws/invalid UTF-8 in a binary frame's topic", "close 1007", func(t *testing.T, s *server) {
			c := dial(t, s.wsURL(""))
			// push: kind 0, join_ref, ref, topic, event sizes, then the parts.
			f := []byte{0, 1, 1, 3, 4, '1', '2', 'a', 0xff, 'b', 'e', 'c', 'h', 'o', 'x'}
			c.sendBinary(f)
			if got := c.closed(); got != 1007 {
				t.Fatalf("close code %d, want 1007", got)
			}
		}},
		// --- WebSocket: names and connect params ---
		{"ws/topic past MaxTopicBytes", `reply {"reason":"topic too long"}, connection kept`, func(t *testing.T, s *server) {
			c := dial(t, s.wsURL(""))
			r := c.join("room:"+strings.Repeat("t", maxTopicBytes), "1")
			if r.ReplyStatus != "error" || !strings.Contains(string(r.ReplyResponse), "topic too long") {
				t.Fatalf("long topic: %.200s", r.raw)
			}
			if r := c.join("room:ok", "2"); r.ReplyStatus != "ok" {
				t.Fatalf("join after: %s", r.raw)
			}
		}},
		{"ws/event past MaxEventBytes", `reply {"reason":"event too long"}, connection kept`, func(t *testing.T, s *server) {
			c := dial(t, s.wsURL(""))
			c.join("room:ev", "1")
			c.send(`["1","2","room:ev","` + strings.Repeat("e", maxEventBytes+1) + `",{}]`)
			if r := c.reply("2"); r.ReplyStatus != "error" || !strings.Contains(string(r.ReplyResponse), "event too long") {
				t.Fatalf("long event: %.200s", r.raw)
			}
		}},
		{"ws/query past MaxQueryBytes", "HTTP 414 on the upgrade", wantRefused(414, "pad="+strings.Repeat("q", maxQueryBytes))},
		{"ws/query past MaxParams", "HTTP 400 on the upgrade", wantRefused(400, manyParams(maxParams+1))},
		{"ws/query nested past MaxDepth (the 870 KB bomb, shortened)", "HTTP 400 on the upgrade",
			wantRefused(400, "a"+strings.Repeat("[b]", maxDepth+1)+"=1")},
		// --- WebSocket: sizes and framing ---
		{"ws/oversize frame", "close 1009", wantClose(1009,
			`["1","1","room:a","echo",{"pad":"`+strings.Repeat("x", maxFrameSize)+`"}]`)},
		{"ws/fragmented frame within the limit", "served as one message", func(t *testing.T, s *server) {
			c := dial(t, s.wsURL(""))
			c.join("room:frag", "1")
			msg := `["1","2","room:frag","echo",{"pad":"` + strings.Repeat("y", 3000) + `"}]`
			c.rawFrame(false, websocket.TextMessage, []byte(msg[:1000]), false)
			c.rawFrame(false, 0, []byte(msg[1000:2000]), false)
			c.rawFrame(true, 0, []byte(msg[2000:]), false)
			if r := c.reply("2"); r.ReplyStatus != "ok" || len(r.ReplyResponse) != 3000+len(`{"pad":""}`) {
				t.Fatalf("fragmented echo: %.200s", r.raw)
			}
		}},
		{"ws/fragments summing past the limit", "close 1009", func(t *testing.T, s *server) {
			c := dial(t, s.wsURL(""))
			chunk := []byte(strings.Repeat("z", maxFrameSize/4))
			c.rawFrame(false, websocket.TextMessage, []byte(`["1","1","room:a","echo",{"pad":"`), false)
			for range 5 {
				if c.rawFrame(false, 0, chunk, false) != nil {
					break
				}
			}
			if got := c.closed(); got != 1009 {
				t.Fatalf("close code %d, want 1009", got)
			}
		}},
		{"ws/continuation without a first fragment", "close 1002 (protocol error)", func(t *testing.T, s *server) {
			c := dial(t, s.wsURL(""))
			c.rawFrame(true, 0, []byte(`["1","1","room:a","phx_join",{}]`), false)
			if got := c.closed(); got != websocket.CloseProtocolError {
				t.Fatalf("close code %d, want 1002", got)
			}
		}},
		{"ws/unmasked client frame", "close 1002 (protocol error)", func(t *testing.T, s *server) {
			c := dial(t, s.wsURL(""))
			c.rawFrame(true, websocket.TextMessage, []byte(`["1","1","room:a","phx_join",{}]`), true)
			if got := c.closed(); got != websocket.CloseProtocolError {
				t.Fatalf("close code %d, want 1002", got)
			}
		}},
		// --- WebSocket: protocol misuse answered with error replies ---
		{"ws/unknown vsn", "HTTP 403 on the upgrade", func(t *testing.T, s *server) {
			u := strings.Replace(s.wsURL(""), "vsn=2.0.0", "vsn=3.0.0", 1)
			c, status, err := tryDial(u)
			if err == nil {
				c.Close()
				t.Fatal("upgrade with vsn=3.0.0 accepted")
			}
			if status != http.StatusForbidden {
				t.Fatalf("HTTP %d, want 403", status)
			}
		}},
		{"ws/event before join", `reply {"reason":"unmatched topic"}, connection kept`, func(t *testing.T, s *server) {
			c := dial(t, s.wsURL(""))
			c.send(`["1","1","room:nojoin","echo",{}]`)
			r := c.reply("1")
			if r.ReplyStatus != "error" || !strings.Contains(string(r.ReplyResponse), "unmatched topic") {
				t.Fatalf("push before join: %s", r.raw)
			}
			if r := c.join("room:nojoin", "2"); r.ReplyStatus != "ok" {
				t.Fatalf("join after: %s", r.raw)
			}
		}},
		{"ws/101st channel", `join reply {"reason":"too many channels joined"}, connection kept`, func(t *testing.T, s *server) {
			c := dial(t, s.wsURL(""))
			for i := range maxChannels {
				ref := fmt.Sprint(i + 1)
				c.send(fmt.Sprintf(`["%s","%s","room:n%d","phx_join",{}]`, ref, ref, i))
			}
			for i := range maxChannels {
				if r := c.reply(fmt.Sprint(i + 1)); r.ReplyStatus != "ok" {
					t.Fatalf("join %d: %s", i+1, r.raw)
				}
			}
			r := c.join("room:one-too-many", "x")
			if r.ReplyStatus != "error" || !strings.Contains(string(r.ReplyResponse), "too many channels joined") {
				t.Fatalf("101st join: %s", r.raw)
			}
			c.send(`["1","h","phoenix","heartbeat",{}]`)
			if r := c.reply("h"); r.ReplyStatus != "ok" {
				t.Fatalf("heartbeat after the refusal: %s", r.raw)
			}
		}},

		// --- long-poll: tokens ---
		{"lp/forged token on POST", "{status:410}", func(t *testing.T, s *server) {
			lp := newLP(t, s, "/socket")
			lp.token = "forged.token"
			if st := lp.post(`["1","1","room:a","phx_join",{}]`); st != 410 {
				t.Fatalf("status %d, want 410", st)
			}
		}},
		{"lp/forged token on GET", "{status:410} with a fresh session token", func(t *testing.T, s *server) {
			lp := newLP(t, s, "/socket")
			code, r := lp.do(http.MethodGet, lp.withToken("forged.token"), "", nil)
			if code != http.StatusOK || r.Status != 410 || r.Token == "" || r.Token == "forged.token" {
				t.Fatalf("HTTP %d %+v, want {status:410} and a new token", code, r)
			}
		}},
		{"lp/foreign token (another mount's secret)", "{status:410}", func(t *testing.T, s *server) {
			other := newLP(t, s, "/short/socket")
			other.open()
			lp := newLP(t, s, "/socket")
			lp.token = other.token
			if st := lp.post(`["1","1","room:a","phx_join",{}]`); st != 410 {
				t.Fatalf("status %d, want 410", st)
			}
		}},
		{"lp/expired token", "{status:410} once the session was reaped", func(t *testing.T, s *server) {
			lp := newLP(t, s, "/short/socket")
			lp.open()
			deadline := time.Now().Add(waitTimeout)
			for s.short.Endpoint().Sessions() > 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if st := lp.post(`["1","1","room:a","phx_join",{}]`); st != 410 {
				t.Fatalf("status %d, want 410", st)
			}
		}},
		// --- long-poll: bodies ---
		{"lp/oversize body", "{status:413}, nothing processed", wantLPStatus(413, "application/x-ndjson",
			`["1","1","room:a","echo",{"pad":"`+strings.Repeat("x", maxBodyBytes)+`"}]`)},
		{"lp/bad JSON line", "{status:400}, session ended", wantLPStatus(400, "application/x-ndjson", `["1","1","room:a","phx_join",{`)},
		{"lp/wrong arity", "{status:400}, session ended", wantLPStatus(400, "application/x-ndjson", `["1","1","room:a"]`)},
		{"lp/bad base64 line", "{status:400}, session ended", wantLPStatus(400, "application/x-ndjson", "not*base64!")},
		{"lp/deep nesting", "{status:400}, session ended", wantLPStatus(400, "application/x-ndjson",
			`["1","1","room:a","phx_join",{}]`+"\n"+`["1","2","room:a","echo",{"a":`+deep+`}]`)},
		{"lp/invalid UTF-8 body", "{status:400}, nothing processed, session ended", wantLPStatus(400, "application/x-ndjson",
			"[\"1\",\"1\",\"room:a\",\"phx_join\",{\"x\":\"\xff\"}]")},
		{"lp/hostile query", "{status:403} before the connect hook", func(t *testing.T, s *server) {
			lp := newLP(t, s, "/socket")
			code, r := lp.do(http.MethodGet, lp.base+"&a"+strings.Repeat("[b]", 2000)+"=1", "", nil)
			if code != http.StatusOK || r.Status != 403 {
				t.Fatalf("HTTP %d %+v, want {status:403}", code, r)
			}
		}},
		{"lp/sessions past MaxSessionsPerIP", "{status:500} for the session past the cap; a freed slot is reused", func(t *testing.T, s *server) {
			var open []*lpClient
			for range maxSessionsPerIP {
				lp := newLP(t, s, "/capped/socket")
				lp.open()
				open = append(open, lp)
			}
			extra := newLP(t, s, "/capped/socket")
			code, r := extra.do(http.MethodGet, extra.base, "", nil)
			if code != http.StatusOK || r.Status != 500 {
				t.Fatalf("session past the cap: HTTP %d %+v, want {status:500}", code, r)
			}
			// A malformed frame ends one session; its slot is free again.
			open[0].post("not json")
			deadline := time.Now().Add(waitTimeout)
			for {
				code, r = extra.do(http.MethodGet, extra.base, "", nil)
				if r.Status == 410 && r.Token != "" {
					extra.token = r.Token
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("slot not freed: HTTP %d %+v", code, r)
				}
				time.Sleep(20 * time.Millisecond)
			}
			for _, lp := range append(open[1:], extra) {
				if lp.token != "" {
					lp.post(`["1","1","x","bad"]`) // end the session now rather than at IdleTimeout
				}
			}
		}},
		{"lp/wrong method", "HTTP 400", func(t *testing.T, s *server) {
			lp := newLP(t, s, "/socket")
			if code, _ := lp.do(http.MethodPut, lp.base, "", nil); code != http.StatusBadRequest {
				t.Fatalf("PUT: HTTP %d, want 400", code)
			}
		}},
	}
}

// TestHostileCatalogue plays every case against one server, a sentinel
// after each, and checks the server's goroutines and fds at the end.
func TestHostileCatalogue(t *testing.T) {
	s := newServer(t)
	// Warm up pools and lazily started goroutines before the baseline.
	sentinel(t, s)
	waitSettled()
	g0, fd0 := resources()

	for _, tc := range catalogue() {
		t.Run(tc.name, func(t *testing.T) {
			t.Logf("documented outcome: %s", tc.outcome)
			tc.run(t, s)
			sentinel(t, s)
		})
	}
	waitBaseline(t, g0, fd0)
}

// waitSettled gives connections closed by the warm-up time to be released.
func waitSettled() {
	prev := -1
	for range 100 {
		g, _ := resources()
		if g == prev {
			return
		}
		prev = g
		time.Sleep(50 * time.Millisecond)
	}
}
