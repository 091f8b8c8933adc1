package handler_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitTimeout bounds every wait for an event; a deadline for failure,
// never a sleep.
const waitTimeout = 5 * time.Second

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// terms receives the reason of every channel termination.
type terms chan error

// testEndpoint returns an endpoint with a "room:*" channel:
//   - join replies with what the connection carries (identity, params,
//     auth token, transport);
//   - "echo" replies with the payload;
//   - "flood" pushes 1 KiB events (or {"size":n} bytes) until the session
//     refuses them;
//   - "burst" pushes {"count":n} events, the i-th padded with burstPad(i).
func testEndpoint(t testing.TB, cfg phx.Config) (*phx.Endpoint, terms) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	ep := phx.NewEndpoint(cfg)
	tc := make(terms, 16)
	ep.Handle("room:*", &room{terms: tc})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := ep.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return ep, tc
}

type room struct{ terms terms }

func (r *room) Join(ctx context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
	info := ch.ConnectInfo()
	return map[string]any{
		"identity":   ch.Identity(),
		"params":     info.Params,
		"auth_token": info.AuthToken,
		"transport":  info.Transport,
	}, nil
}

func (r *room) HandleIn(ctx context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
	switch msg.Event {
	case "echo":
		return phx.Ok(msg.Payload), nil
	case "flood":
		var in struct{ Size int }
		msg.Payload.Decode(&in)
		if in.Size == 0 {
			in.Size = 1024
		}
		big := strings.Repeat("x", in.Size)
		for i := 0; ; i++ {
			if err := ch.Push("flood", map[string]any{"i": i, "pad": big}); err != nil {
				return nil, nil
			}
		}
	case "burst":
		var in struct{ Count int }
		msg.Payload.Decode(&in)
		for i := range in.Count {
			if err := ch.Push("burst", map[string]any{"i": i, "pad": burstPad(i)}); err != nil {
				return nil, err
			}
		}
		return phx.Ok(nil), nil
	}
	return nil, fmt.Errorf("unknown event %s", msg.Event)
}

// burstPad is the padding of the i-th "burst" event: sizes around every
// WebSocket length encoding (7-bit, 16-bit, 64-bit) and the write path's
// copy limit.
func burstPad(i int) string {
	sizes := []int{0, 100, 125, 126, 1000, 1024, 1025, 4096, 65535, 65536, 70000}
	return strings.Repeat(string(rune('a'+i%26)), sizes[i%len(sizes)])
}

func (r *room) Terminate(ctx context.Context, ch *phx.Channel, reason error) {
	select {
	case r.terms <- reason:
	default:
	}
}

// waitTerm returns the next termination reason.
func (tc terms) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-tc:
		return err
	case <-time.After(waitTimeout):
		t.Fatal("no channel terminated")
		return nil
	}
}

// serve starts an HTTP server with h mounted by mount (which registers it
// on a router) and returns its ws:// base URL.
func serve(t testing.TB, root http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(root)
	t.Cleanup(srv.Close)
	return srv
}

func wsURL(srv *httptest.Server, path string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + path
}

// dial opens a WebSocket; the connection is closed when the test ends.
func dial(t *testing.T, url string, header http.Header, protocols ...string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: waitTimeout, Subprotocols: protocols}
	conn, resp, err := d.Dial(url, header)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if conn != nil {
		t.Cleanup(func() { conn.Close() })
	}
	return conn, resp, err
}

// mustDial opens a WebSocket that must succeed.
func mustDial(t *testing.T, url string, header http.Header, protocols ...string) (*websocket.Conn, *http.Response) {
	t.Helper()
	conn, resp, err := dial(t, url, header, protocols...)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", url, err, status)
	}
	return conn, resp
}

// refused dials and returns the HTTP status of the refused handshake.
func refused(t *testing.T, url string, header http.Header, protocols ...string) int {
	t.Helper()
	conn, resp, err := dial(t, url, header, protocols...)
	if err == nil {
		conn.Close()
		t.Fatalf("dial %s succeeded, want a refusal", url)
	}
	if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil {
		t.Fatalf("dial %s: %v, want a bad handshake", url, err)
	}
	return resp.StatusCode
}

func send(t *testing.T, conn *websocket.Conn, frame string) {
	t.Helper()
	conn.SetWriteDeadline(time.Now().Add(waitTimeout))
	if err := conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		t.Fatalf("write %s: %v", frame, err)
	}
}

// read returns the next message, decoded as JSON.
func read(t *testing.T, conn *websocket.Conn) any {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(waitTimeout))
	_, data, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("frame %q: %v", data, err)
	}
	return v
}

func expect(t *testing.T, conn *websocket.Conn, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation %s: %v", want, err)
	}
	if d := cmp.Diff(w, read(t, conn)); d != "" {
		t.Fatalf("(-want +got)\n%s", d)
	}
}

// joinResponse joins topic and returns the join reply's response.
func joinResponse(t *testing.T, conn *websocket.Conn, topic string) map[string]any {
	t.Helper()
	send(t, conn, `["1","1","`+topic+`","phx_join",{}]`)
	f, ok := read(t, conn).([]any)
	if !ok || len(f) != 5 {
		t.Fatalf("join reply %v", f)
	}
	p := f[4].(map[string]any)
	if p["status"] != "ok" {
		t.Fatalf("join refused: %v", f)
	}
	return p["response"].(map[string]any)
}

// closeCode reads until the connection ends and returns the close code the
// server sent (-1 when the connection ended without a close frame).
func closeCode(t *testing.T, conn *websocket.Conn) int {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(waitTimeout))
	for {
		_, _, err := conn.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the server did not close the connection")
		}
		return -1
	}
}

func newHandler(ep *phx.Endpoint, opts handler.Options) *handler.Handler {
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	return handler.New(ep, opts)
}
