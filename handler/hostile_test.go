package handler_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

// shouter broadcasts every "shout" payload to the topic's subscribers (the
// README's chat pattern) and answers a binary push with its payload.
type shouter struct{}

func (shouter) Join(context.Context, *phx.Channel, phx.Payload) (any, error) { return nil, nil }

func (shouter) HandleIn(_ context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
	if msg.Payload.Binary {
		return phx.Ok(phx.Binary(msg.Payload.Data)), nil
	}
	return phx.Ok(nil), ch.Broadcast("shout", msg.Payload)
}

// TestInvalidUTF8Closes1007: a text frame that is not valid UTF-8 closes
// its own connection with 1007 and reaches nobody else: a subscriber of the
// room stays connected and receives the next broadcast. The v2 binary
// serializer's payload may hold any bytes, but not its refs, topic, event.
func TestInvalidUTF8Closes1007(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	ep.Handle("shout:*", shouter{})
	srv := serve(t, newHandler(ep, handler.Options{}))
	url := wsURL(srv, "/socket/websocket?vsn=2.0.0")

	listener, _ := mustDial(t, url, nil)
	joinResponse(t, listener, "shout:1")

	bad := []struct {
		name string
		kind int
		data string
	}{
		{"payload", websocket.TextMessage, "[\"1\",\"2\",\"shout:1\",\"shout\",{\"body\":\"hi \xff\xfe\"}]"},
		{"ref", websocket.TextMessage, "[\"1\",\"\xc3(\",\"shout:1\",\"shout\",{}]"},
		{"heartbeat ref", websocket.TextMessage, "[null,\"\xff\",\"phoenix\",\"heartbeat\",{}]"},
		{"surrogate half", websocket.TextMessage, "[\"1\",\"2\",\"shout:1\",\"shout\",{\"body\":\"\xed\xa0\x80\"}]"},
		{"binary topic", websocket.BinaryMessage, "\x00\x01\x01\x07\x02" + "12" + "shout:\xff" + "up"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			sender, _ := mustDial(t, url, nil)
			joinResponse(t, sender, "shout:1")
			sender.SetWriteDeadline(time.Now().Add(waitTimeout))
			if err := sender.WriteMessage(tt.kind, []byte(tt.data)); err != nil {
				t.Fatal(err)
			}
			if code := closeCode(t, sender); code != websocket.CloseInvalidFramePayloadData {
				t.Errorf("close code %d, want 1007", code)
			}
		})
	}

	// the listener saw none of it and still gets the room's messages
	other, _ := mustDial(t, url, nil)
	joinResponse(t, other, "shout:1")
	send(t, other, `["1","2","shout:1","shout",{"body":"héllo"}]`)
	expect(t, listener, `[null,null,"shout:1","shout",{"body":"héllo"}]`)
	expect(t, other, `[null,null,"shout:1","shout",{"body":"héllo"}]`)
	expect(t, other, `["1","2","shout:1","phx_reply",{"status":"ok","response":{}}]`)

	// arbitrary bytes in a binary payload are fine
	other.SetWriteDeadline(time.Now().Add(waitTimeout))
	if err := other.WriteMessage(websocket.BinaryMessage, []byte("\x00\x01\x01\x07\x02"+"13"+"shout:1"+"up"+"\xff\xfe")); err != nil {
		t.Fatal(err)
	}
	other.SetReadDeadline(time.Now().Add(waitTimeout))
	kind, data, err := other.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	want := "\x01\x01\x01\x07\x02" + "13" + "shout:1" + "ok" + "\xff\xfe"
	if kind != websocket.BinaryMessage || string(data) != want {
		t.Errorf("binary reply %d %q, want %q", kind, data, want)
	}
	send(t, listener, `[null,"9","phoenix","heartbeat",{}]`)
	expect(t, listener, `[null,"9","phoenix","phx_reply",{"status":"ok","response":{}}]`)
}

// query returns a query string of n pairs "p<i>=v" led by vsn=2.0.0.
func query(n int) string {
	parts := []string{"vsn=2.0.0"}
	for i := 1; i < n; i++ {
		parts = append(parts, fmt.Sprintf("p%d=v", i))
	}
	return strings.Join(parts, "&")
}

// nested returns "vsn=2.0.0&a[b][b]…=1" with depth levels, each bracket
// written as open and close.
func nested(depth int, open, close string) string {
	return "vsn=2.0.0&a" + strings.Repeat(open+"b"+close, depth) + "=1"
}

// TestParamLimits: the query string's size, parameter count and bracket
// depth are checked at and past each edge, defaults and configured, before
// the connect hook runs.
func TestParamLimits(t *testing.T) {
	pad := func(n int) string { // a query of exactly n bytes
		q := "vsn=2.0.0&pad="
		return q + strings.Repeat("x", n-len(q))
	}
	tests := []struct {
		name   string
		limits handler.ParamLimits
		query  string
		status int // 0: accepted
	}{
		{"default size at the edge", handler.ParamLimits{}, pad(8 << 10), 0},
		{"default size past the edge", handler.ParamLimits{}, pad(8<<10 + 1), http.StatusRequestURITooLong},
		{"default count at the edge", handler.ParamLimits{}, query(100), 0},
		{"default count past the edge", handler.ParamLimits{}, query(101), http.StatusBadRequest},
		{"repeated keys count", handler.ParamLimits{}, "vsn=2.0.0" + strings.Repeat("&a[]=1", 100), http.StatusBadRequest},
		{"empty pairs do not count", handler.ParamLimits{MaxParams: 2}, "vsn=2.0.0&&&&a=1&", 0},
		{"default depth at the edge", handler.ParamLimits{}, nested(8, "[", "]"), 0},
		{"default depth past the edge", handler.ParamLimits{}, nested(9, "[", "]"), http.StatusBadRequest},
		{"escaped brackets count", handler.ParamLimits{}, nested(9, "%5B", "%5D"), http.StatusBadRequest},
		{"lower-case escapes count", handler.ParamLimits{}, nested(9, "%5b", "%5d"), http.StatusBadRequest},
		{"brackets in values do not count", handler.ParamLimits{MaxDepth: 1}, "vsn=2.0.0&a=" + strings.Repeat("[b]", 20), 0},
		{"configured size at the edge", handler.ParamLimits{MaxQueryBytes: 100}, pad(100), 0},
		{"configured size past the edge", handler.ParamLimits{MaxQueryBytes: 100}, pad(101), http.StatusRequestURITooLong},
		{"configured count at the edge", handler.ParamLimits{MaxParams: 3}, query(3), 0},
		{"configured count past the edge", handler.ParamLimits{MaxParams: 3}, query(4), http.StatusBadRequest},
		{"configured depth at the edge", handler.ParamLimits{MaxDepth: 2}, "vsn=2.0.0&a[b][]=1", 0},
		{"configured depth past the edge", handler.ParamLimits{MaxDepth: 2}, "vsn=2.0.0&a[b][c][]=1", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, _ := testEndpoint(t, phx.Config{})
			var hooked atomic.Int32
			srv := serve(t, newHandler(ep, handler.Options{ParamLimits: tt.limits,
				Connect: func(*http.Request, *phx.ConnectInfo) error { hooked.Add(1); return nil }}))
			url := wsURL(srv, "/socket/websocket?"+tt.query)
			if tt.status != 0 {
				if got := refused(t, url, nil); got != tt.status {
					t.Errorf("HTTP %d, want %d", got, tt.status)
				}
				if n := hooked.Load(); n != 0 {
					t.Errorf("the connect hook ran %d times for a refused query", n)
				}
				return
			}
			conn, _ := mustDial(t, url, nil)
			if p := joinResponse(t, conn, "room:1")["params"].(map[string]any); p["vsn"] != "2.0.0" {
				t.Errorf("params %v", p)
			}
			if n := hooked.Load(); n != 1 {
				t.Errorf("the connect hook ran %d times", n)
			}
		})
	}
}

// allocated returns the bytes allocated by n calls of f.
func allocated(n int, f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range n {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(n)
}

// TestHostileQueryMemory: the ~870 KB query a[b][b]…[b]=1 made the connect
// step allocate ~100 MiB (a nested map per level) before the connect hook
// could refuse it; it is now refused having allocated next to nothing, and
// the worst query the default limits let through stays small.
func TestHostileQueryMemory(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	c := handler.Connector{Endpoint: ep, Connect: func(*http.Request, *phx.ConnectInfo) error { return handler.ErrRefused }}
	hostile := "vsn=2.0.0&a" + strings.Repeat("[b]", 290_000) + "=1"
	r := httptest.NewRequest(http.MethodGet, "/socket/websocket?"+hostile, nil)
	perCall := allocated(5, func() {
		if _, status, err := c.Open(r, "websocket", "", true); status != http.StatusRequestURITooLong {
			t.Fatalf("hostile query: status %d, %v; want 414", status, err)
		}
	})
	t.Logf("hostile query of %d bytes: %d bytes allocated", len(hostile), perCall)
	if perCall > 4<<10 {
		t.Errorf("refusing a %d-byte query allocated %d bytes", len(hostile), perCall)
	}
	// The worst the defaults accept: 100 keys of depth 8, distinct at
	// every level, within 8 KiB.
	var b strings.Builder
	b.WriteString("vsn=2.0.0")
	for i := 1; i < 100; i++ {
		fmt.Fprintf(&b, "&k%d[a][b][c][d][e][f][g][h]=1", i)
	}
	worst := b.String()
	if len(worst) > 8<<10 {
		t.Fatalf("worst query of %d bytes does not fit the default limit", len(worst))
	}
	r = httptest.NewRequest(http.MethodGet, "/socket/websocket?"+worst, nil)
	perCall = allocated(5, func() {
		if _, status, _ := c.Open(r, "websocket", "", true); status != http.StatusForbidden {
			t.Fatalf("worst accepted query: status %d, want the hook's 403", status)
		}
	})
	t.Logf("worst accepted query of %d bytes: %d bytes allocated", len(worst), perCall)
	if perCall > 1<<20 {
		t.Errorf("the worst accepted query of %d bytes allocated %d bytes", len(worst), perCall)
	}
	// over a real socket the hostile query is refused too
	srv := serve(t, newHandler(ep, handler.Options{}))
	if got := refused(t, wsURL(srv, "/socket/websocket?"+hostile), nil); got != http.StatusRequestURITooLong {
		t.Errorf("hostile query over a socket: HTTP %d, want 414", got)
	}
}

// TestLongTopicRefused: a join with a 10 KB topic over a real socket gets
// the error reply {"reason":"topic too long"} (phx.Config.MaxTopicBytes)
// and the connection stays usable.
func TestLongTopicRefused(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	srv := serve(t, newHandler(ep, handler.Options{}))
	conn, _ := mustDial(t, wsURL(srv, "/socket/websocket?vsn=2.0.0"), nil)
	topic := "room:" + strings.Repeat("x", 10_000)
	send(t, conn, `["1","1","`+topic+`","phx_join",{}]`)
	expect(t, conn, `["1","1","`+topic+`","phx_reply",{"status":"error","response":{"reason":"topic too long"}}]`)
	joinResponse(t, conn, "room:1")
}
