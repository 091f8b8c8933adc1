package handler_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

// TestMounts: the same join and reply work under chi's Mount (prefix kept),
// ServeMux (prefix kept) and ServeMux with http.StripPrefix.
func TestMounts(t *testing.T) {
	tests := []struct {
		name  string
		mount func(h http.Handler) http.Handler
	}{
		{"chi Mount", func(h http.Handler) http.Handler {
			r := chi.NewRouter()
			r.Mount("/socket", h)
			return r
		}},
		{"ServeMux", func(h http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/socket/", h)
			return mux
		}},
		{"ServeMux with StripPrefix", func(h http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/socket/", http.StripPrefix("/socket", h))
			return mux
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, _ := testEndpoint(t, phx.Config{})
			srv := serve(t, tt.mount(newHandler(ep, handler.Options{})))
			conn, _ := mustDial(t, wsURL(srv, "/socket/websocket?vsn=2.0.0"), nil)
			send(t, conn, `["1","1","room:1","phx_join",{}]`)
			if f := read(t, conn).([]any); f[3] != "phx_reply" || f[4].(map[string]any)["status"] != "ok" {
				t.Fatalf("join reply %v", f)
			}
			send(t, conn, `["1","2","room:1","echo",{"hi":"there"}]`)
			expect(t, conn, `["1","2","room:1","phx_reply",{"status":"ok","response":{"hi":"there"}}]`)

			resp, err := http.Get(srv.URL + "/socket/nothing")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET /socket/nothing = %d, want 404", resp.StatusCode)
			}
		})
	}
}

func TestVersions(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	srv := serve(t, newHandler(ep, handler.Options{}))

	conn, _ := mustDial(t, wsURL(srv, "/socket/websocket?vsn=2.0.0"), nil)
	send(t, conn, `[null,"1","phoenix","heartbeat",{}]`)
	expect(t, conn, `[null,"1","phoenix","phx_reply",{"status":"ok","response":{}}]`)

	for _, q := range []string{"?vsn=1.0.0", ""} {
		v1, _ := mustDial(t, wsURL(srv, "/socket/websocket"+q), nil)
		send(t, v1, `{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"1"}`)
		expect(t, v1, `{"topic":"phoenix","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":"1"}`)
	}

	for _, vsn := range []string{"3.0.0", "2.1.0", "garbage"} {
		if got := refused(t, wsURL(srv, "/socket/websocket?vsn="+vsn), nil); got != http.StatusForbidden {
			t.Errorf("vsn %s: status %d, want 403", vsn, got)
		}
	}
}

func TestHTTPRefusals(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	srv := serve(t, newHandler(ep, handler.Options{}))
	for _, tt := range []struct {
		name, method string
		header       http.Header
		want         int
	}{
		{"wrong method", http.MethodPost, nil, http.StatusBadRequest},
		{"not an upgrade", http.MethodGet, nil, http.StatusBadRequest},
		{"upgrade without key", http.MethodGet, http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}}, http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+"/socket/websocket?vsn=2.0.0", nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	if n := ep.Sessions(); n != 0 {
		t.Errorf("%d sessions left open by refused requests", n)
	}
}

type user struct {
	Name   string `json:"name"`
	Header string `json:"header"`
	Cookie string `json:"cookie"`
}

// TestConnectHook: the hook sees params, headers and cookies, may refuse
// (403, or an HTTPError's status) and attaches an identity channels see.
func TestConnectHook(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	connect := func(r *http.Request, info *phx.ConnectInfo) error {
		switch info.Params["token"] {
		case "bad":
			return handler.ErrRefused
		case "slow":
			return &handler.HTTPError{Status: http.StatusTooManyRequests, Reason: "slow down"}
		}
		u := user{Header: r.Header.Get("X-Client")}
		if um, ok := info.Params["user"].(map[string]any); ok {
			u.Name, _ = um["name"].(string)
		}
		if c, err := r.Cookie("session"); err == nil {
			u.Cookie = c.Value
		}
		info.Identity = u
		return nil
	}
	srv := serve(t, newHandler(ep, handler.Options{Connect: connect}))

	q := url.Values{"vsn": {"2.0.0"}, "token": {"abc"}, "user[name]": {"ann"}, "ids[]": {"1", "2"}}
	header := http.Header{"X-Client": {"test-suite"}, "Cookie": {"session=s3cr3t"}}
	conn, _ := mustDial(t, wsURL(srv, "/socket/websocket?"+q.Encode()), header)
	got := joinResponse(t, conn, "room:1")
	want := map[string]any{
		"identity":   map[string]any{"name": "ann", "header": "test-suite", "cookie": "s3cr3t"},
		"params":     map[string]any{"vsn": "2.0.0", "token": "abc", "user": map[string]any{"name": "ann"}, "ids": []any{"1", "2"}},
		"auth_token": "",
		"transport":  "websocket",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("join response (-want +got)\n%s", d)
	}

	if s := refused(t, wsURL(srv, "/socket/websocket?vsn=2.0.0&token=bad"), nil); s != http.StatusForbidden {
		t.Errorf("refusal: status %d, want 403", s)
	}
	if s := refused(t, wsURL(srv, "/socket/websocket?vsn=2.0.0&token=slow"), nil); s != http.StatusTooManyRequests {
		t.Errorf("HTTPError 429: status %d", s)
	}
}

// TestAuthTokenSubprotocol: phoenix.js 1.8 carries authToken in a
// subprotocol; the server answers "phoenix" and decodes the token leniently.
func TestAuthTokenSubprotocol(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	srv := serve(t, newHandler(ep, handler.Options{}))
	const token = "tok?>~ en" // its base64 differs between the alphabets
	encodings := map[string]string{
		"std padded":    base64.StdEncoding.EncodeToString([]byte(token)),
		"std raw":       base64.RawStdEncoding.EncodeToString([]byte(token)),
		"url padded":    base64.URLEncoding.EncodeToString([]byte(token)),
		"url raw":       base64.RawURLEncoding.EncodeToString([]byte(token)),
		"btoa (js 1.8)": strings.TrimRight(base64.StdEncoding.EncodeToString([]byte(token)), "="),
	}
	if encodings["std raw"] == encodings["url raw"] {
		t.Fatal("the test token does not exercise both alphabets")
	}
	for name, enc := range encodings {
		t.Run(name, func(t *testing.T) {
			conn, resp := mustDial(t, wsURL(srv, "/socket/websocket?vsn=2.0.0"), nil, "phoenix", handler.AuthTokenPrefix+enc)
			if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "phoenix" {
				t.Errorf("Sec-WebSocket-Protocol = %q, want phoenix", got)
			}
			if got := joinResponse(t, conn, "room:1")["auth_token"]; got != token {
				t.Errorf("auth token %q, want %q", got, token)
			}
		})
	}
	t.Run("phoenix alone", func(t *testing.T) {
		_, resp := mustDial(t, wsURL(srv, "/socket/websocket?vsn=2.0.0"), nil, "phoenix")
		if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "phoenix" {
			t.Errorf("Sec-WebSocket-Protocol = %q, want phoenix", got)
		}
	})
	for name, protos := range map[string][]string{
		"other protocol": {"chat"},
		"token only":     {handler.AuthTokenPrefix + encodings["std raw"]},
	} {
		t.Run("without phoenix: "+name, func(t *testing.T) {
			if s := refused(t, wsURL(srv, "/socket/websocket?vsn=2.0.0"), nil, protos...); s != http.StatusForbidden {
				t.Errorf("status %d, want 403", s)
			}
		})
	}
}

func TestAuthTokenFromProtocols(t *testing.T) {
	tests := []struct {
		in    []string
		token string
		rest  []string
		ok    bool
	}{
		{[]string{"phoenix", "base64url.bearer.phx.c2VjcmV0"}, "secret", []string{"phoenix"}, true},
		{[]string{"base64url.bearer.phx.c2VjcmV0", "phoenix"}, "secret", []string{"phoenix"}, true},
		{[]string{"phoenix"}, "", []string{"phoenix"}, false},
		{[]string{"phoenix", "base64url.bearer.phx.%%%"}, "", []string{"phoenix", "base64url.bearer.phx.%%%"}, false},
		{[]string{"base64url.bearer.phx.YQ", "base64url.bearer.phx.Yg"}, "a", []string{"base64url.bearer.phx.Yg"}, true},
		{nil, "", nil, false},
	}
	for _, tt := range tests {
		token, rest, ok := handler.AuthTokenFromProtocols(tt.in)
		if token != tt.token || ok != tt.ok || !cmp.Equal(rest, tt.rest) {
			t.Errorf("AuthTokenFromProtocols(%q) = %q, %q, %v; want %q, %q, %v", tt.in, token, rest, ok, tt.token, tt.rest, tt.ok)
		}
	}
}

func TestOrigin(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	srv := serve(t, newHandler(ep, handler.Options{}))
	u := wsURL(srv, "/socket/websocket?vsn=2.0.0")
	host := strings.Split(strings.TrimPrefix(srv.URL, "http://"), ":")[0]

	if s := refused(t, u, http.Header{"Origin": {"http://evil.example"}}); s != http.StatusForbidden {
		t.Errorf("foreign origin: status %d, want 403", s)
	}
	if s := refused(t, u, http.Header{"Origin": {"null"}}); s != http.StatusForbidden {
		t.Errorf("origin null: status %d, want 403", s)
	}
	mustDial(t, u, http.Header{"Origin": {"https://" + host + ":1"}}) // same host, other scheme and port
	mustDial(t, u, nil)                                               // no Origin: not a browser

	// a custom check replaces the default
	ep2, _ := testEndpoint(t, phx.Config{})
	srv2 := serve(t, newHandler(ep2, handler.Options{CheckOrigin: func(r *http.Request) bool {
		return r.Header.Get("Origin") == "http://evil.example"
	}}))
	mustDial(t, wsURL(srv2, "/socket/websocket?vsn=2.0.0"), http.Header{"Origin": {"http://evil.example"}})
	if s := refused(t, wsURL(srv2, "/socket/websocket?vsn=2.0.0"), nil); s != http.StatusForbidden {
		t.Errorf("custom check: status %d, want 403", s)
	}
}

func TestIdleTimeout(t *testing.T) {
	ep, terms := testEndpoint(t, phx.Config{})
	// Long enough that a loaded machine does not miss a heartbeat's turn.
	const idle = time.Second
	srv := serve(t, newHandler(ep, handler.Options{IdleTimeout: idle}))

	t.Run("silent client is closed with 1001", func(t *testing.T) {
		conn, _ := mustDial(t, wsURL(srv, "/socket/websocket?vsn=2.0.0"), nil)
		joinResponse(t, conn, "room:idle")
		if code := closeCode(t, conn); code != websocket.CloseGoingAway {
			t.Errorf("close code %d, want 1001", code)
		}
		if err := terms.wait(t); !errors.Is(err, phx.ErrDisconnected) {
			t.Errorf("channel ended with %v, want ErrDisconnected", err)
		}
	})

	t.Run("heartbeats keep it open", func(t *testing.T) {
		conn, _ := mustDial(t, wsURL(srv, "/socket/websocket?vsn=2.0.0"), nil)
		tick := time.NewTicker(idle / 5)
		defer tick.Stop()
		start := time.Now()
		n := 0
		for time.Since(start) < 5*idle/2 {
			<-tick.C
			n++
			ref := strings.Repeat("1", n%5+1)
			send(t, conn, `[null,"`+ref+`","phoenix","heartbeat",{}]`)
			expect(t, conn, `[null,"`+ref+`","phoenix","phx_reply",{"status":"ok","response":{}}]`)
		}
		// still open well past twice the idle timeout
		send(t, conn, `[null,"last","phoenix","heartbeat",{}]`)
		expect(t, conn, `[null,"last","phoenix","phx_reply",{"status":"ok","response":{}}]`)
	})
}

func TestMaxFrameSize(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	srv := serve(t, newHandler(ep, handler.Options{MaxFrameSize: 128}))
	conn, _ := mustDial(t, wsURL(srv, "/socket/websocket?vsn=2.0.0"), nil)
	send(t, conn, `[null,"1","phoenix","heartbeat",{}]`) // small frames pass
	expect(t, conn, `[null,"1","phoenix","phx_reply",{"status":"ok","response":{}}]`)
	send(t, conn, `[null,"2","phoenix","heartbeat",{"pad":"`+strings.Repeat("x", 200)+`"}]`)
	if code := closeCode(t, conn); code != websocket.CloseMessageTooBig {
		t.Errorf("close code %d, want 1009", code)
	}
}

func TestMalformedFrameCloses(t *testing.T) {
	ep, terms := testEndpoint(t, phx.Config{})
	srv := serve(t, newHandler(ep, handler.Options{}))
	for _, tt := range []struct {
		name string
		kind int
		data string
	}{
		{"bad JSON", websocket.TextMessage, `["1","1","room:1"`},
		{"wrong arity", websocket.TextMessage, `["1","1","room:1","echo"]`},
		{"bad binary", websocket.BinaryMessage, "\x01\x00"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, _ := mustDial(t, wsURL(srv, "/socket/websocket?vsn=2.0.0"), nil)
			joinResponse(t, conn, "room:1")
			if err := conn.WriteMessage(tt.kind, []byte(tt.data)); err != nil {
				t.Fatal(err)
			}
			if code := closeCode(t, conn); code != websocket.CloseInvalidFramePayloadData {
				t.Errorf("close code %d, want 1007", code)
			}
			var ce *phx.CloseError
			if err := terms.wait(t); !errors.As(err, &ce) || ce.Code != phx.CloseInvalidData {
				t.Errorf("channel ended with %v, want the 1007 close error", err)
			}
		})
	}
}

func TestBinaryOverWebSocket(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	srv := serve(t, newHandler(ep, handler.Options{}))
	conn, _ := mustDial(t, wsURL(srv, "/socket/websocket?vsn=2.0.0"), nil)
	joinResponse(t, conn, "room:1")
	if n, err := ep.Broadcast(context.Background(), "room:1", "blob", phx.Binary{7, 8}); err != nil || n != 1 {
		t.Fatalf("Broadcast = %d, %v; want 1", n, err)
	}
	conn.SetReadDeadline(time.Now().Add(waitTimeout))
	kind, data, err := conn.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte{2, 6, 4}, "room:1blob\x07\x08"...)
	if kind != websocket.BinaryMessage || string(data) != string(want) {
		t.Errorf("got kind %d %x, want a binary %x", kind, data, want)
	}
}

// TestSlowConsumer: a client that never reads is disconnected when its
// outbound queue overflows; its session and goroutines go away (goleak in
// TestMain checks the goroutines) after CloseTimeout, not after WriteTimeout.
func TestSlowConsumer(t *testing.T) {
	ep, terms := testEndpoint(t, phx.Config{QueueLength: 8})
	srv := serve(t, newHandler(ep, handler.Options{WriteTimeout: time.Hour, CloseTimeout: 100 * time.Millisecond}))
	conn, _ := mustDial(t, wsURL(srv, "/socket/websocket?vsn=2.0.0"), nil)
	joinResponse(t, conn, "room:1")
	// Frames big enough to fill the kernel's socket buffers, so the writer
	// is stuck in a write when the queue overflows.
	send(t, conn, `["1","2","room:1","flood",{"size":1048576}]`)
	// never read again
	if err := terms.wait(t); !errors.Is(err, phx.ErrSlowConsumer) {
		t.Errorf("channel ended with %v, want ErrSlowConsumer", err)
	}
	// Shutdown returns only once every transport has let go of its session:
	// the connection's goroutines have finished.
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := ep.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v (the slow connection is still held)", err)
	}
	if n := ep.Sessions(); n != 0 {
		t.Errorf("%d sessions left", n)
	}
	closeCode(t, conn) // the client, reading at last, finds the connection ended
}

func TestShutdownClosesWith1012(t *testing.T) {
	ep, terms := testEndpoint(t, phx.Config{})
	srv := serve(t, newHandler(ep, handler.Options{}))
	conn, _ := mustDial(t, wsURL(srv, "/socket/websocket?vsn=2.0.0"), nil)
	joinResponse(t, conn, "room:1")

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		done <- ep.Shutdown(ctx)
	}()
	if code := closeCode(t, conn); code != websocket.CloseServiceRestart {
		t.Errorf("close code %d, want 1012", code)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := terms.wait(t); !errors.Is(err, phx.ErrShutdown) {
		t.Errorf("channel ended with %v, want ErrShutdown", err)
	}
	if s := refused(t, wsURL(srv, "/socket/websocket?vsn=2.0.0"), nil); s != http.StatusServiceUnavailable {
		t.Errorf("connect after Shutdown: status %d, want 503", s)
	}
}

func TestClientDisconnect(t *testing.T) {
	ep, terms := testEndpoint(t, phx.Config{})
	srv := serve(t, newHandler(ep, handler.Options{}))
	conn, _ := mustDial(t, wsURL(srv, "/socket/websocket?vsn=2.0.0"), nil)
	joinResponse(t, conn, "room:1")
	conn.Close()
	if err := terms.wait(t); !errors.Is(err, phx.ErrDisconnected) {
		t.Errorf("channel ended with %v, want ErrDisconnected", err)
	}
}
