package handler_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

// pusher is the channel of the slow-consumer tests: "push" sends
// {"i":n,"pad":…} events of {"size":…} bytes, {"every_ms":…} apart (as
// fast as possible when 0), {"count":…} of them or, when 0, until the
// session refuses one.
type pusher struct{ terms terms }

func (pusher) Join(context.Context, *phx.Channel, phx.Payload) (any, error) { return nil, nil }

func (p pusher) HandleIn(ctx context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
	var in struct {
		Size    int `json:"size"`
		EveryMS int `json:"every_ms"`
		Count   int `json:"count"`
	}
	if err := msg.Payload.Decode(&in); err != nil {
		return nil, err
	}
	pad := strings.Repeat("p", in.Size)
	for i := 0; in.Count == 0 || i < in.Count; i++ {
		if in.EveryMS > 0 {
			time.Sleep(time.Duration(in.EveryMS) * time.Millisecond)
		}
		if err := ch.Push("push", map[string]any{"i": i, "pad": pad}); err != nil {
			return nil, nil
		}
	}
	return nil, nil
}

func (p pusher) Terminate(ctx context.Context, ch *phx.Channel, reason error) {
	select {
	case p.terms <- reason:
	default:
	}
}

// smallBuffers is a listener whose connections have a small send buffer,
// so that a client that does not read fills it quickly and the server's
// writes block with a frame half written.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(16 << 10)
	}
	return c, err
}

// slowServer serves an endpoint with the pusher channel on "slow:*" over a
// listener with small send buffers.
func slowServer(t *testing.T, cfg phx.Config, opts handler.Options) (string, terms, *phx.Endpoint) {
	t.Helper()
	cfg.Logger = quietLogger()
	ep := phx.NewEndpoint(cfg)
	tc := make(terms, 4)
	ep.Handle("slow:*", pusher{terms: tc})
	srv := httptest.NewUnstartedServer(newHandler(ep, opts))
	srv.Listener = smallBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
		defer cancel()
		if err := ep.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return wsURL(srv, "/socket/websocket?vsn=2.0.0"), tc, ep
}

// dialSmall opens a WebSocket whose socket has a small receive buffer, set
// before connecting so that the TCP window stays small.
func dialSmall(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = setRcvBuf(fd, 4096)
		})
		return errors.Join(err, serr)
	}}
	d := websocket.Dialer{HandshakeTimeout: waitTimeout, NetDialContext: nd.DialContext}
	conn, resp, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	t.Cleanup(func() { conn.Close() })
	return conn
}

// readUntilClose reads, pausing pause before each message, until the
// server's close frame, and returns it. The pushes read before it must be
// whole and in order from the first one: the queue dropped at the close is
// the tail, and a frame cut short would corrupt the stream.
func readUntilClose(t *testing.T, conn *websocket.Conn, pause time.Duration) (*websocket.CloseError, int) {
	t.Helper()
	next := 0
	for {
		time.Sleep(pause)
		if pause > 0 {
			// A client that reads slowly still sends its heartbeats. The
			// server must not close its socket with one of them unread:
			// that resets the connection, and the reset discards the
			// close frame waiting in the server's send buffer.
			conn.SetWriteDeadline(time.Now().Add(waitTimeout))
			conn.WriteMessage(websocket.TextMessage, []byte(`[null,"9","phoenix","heartbeat",{}]`))
		}
		conn.SetReadDeadline(time.Now().Add(waitTimeout))
		_, data, err := conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("after %d pushes the connection ended without a close frame: %v", next, err)
			}
			return ce, next
		}
		var m []json.RawMessage
		var p struct {
			I   int    `json:"i"`
			Pad string `json:"pad"`
		}
		if err := json.Unmarshal(data, &m); err != nil || len(m) != 5 {
			t.Fatalf("frame %.80q: %v", data, err)
		}
		if string(m[3]) == `"phx_reply"` { // to a join or a heartbeat
			continue
		}
		if err := json.Unmarshal(m[4], &p); err != nil || p.I != next || strings.Trim(p.Pad, "p") != "" {
			t.Fatalf("push %.80q, want i=%d: %v", data, next, err)
		}
		next++
	}
}

func joinSlow(t *testing.T, conn *websocket.Conn) {
	t.Helper()
	send(t, conn, `["1","1","slow:1","phx_join",{}]`)
	expect(t, conn, `["1","1","slow:1","phx_reply",{"status":"ok","response":{}}]`)
}

// TestSlowConsumerGetsClose: a client that stops reading until its queue
// overflows, then reads again, reads the frames that were already in the
// socket buffers, whole (the frame the server was in the middle of
// included), then a close frame 1008 "slow consumer".
func TestSlowConsumerGetsClose(t *testing.T) {
	url, terms, _ := slowServer(t, phx.Config{QueueLength: 16}, handler.Options{CloseTimeout: 4 * waitTimeout})
	conn := dialSmall(t, url)
	joinSlow(t, conn)
	// 3000-byte frames: larger than the write path copies, and the socket
	// fills up in the middle of one.
	send(t, conn, `["1","2","slow:1","push",{"size":3000}]`)
	if err := terms.wait(t); !errors.Is(err, phx.ErrSlowConsumer) {
		t.Fatalf("channel ended with %v, want ErrSlowConsumer", err)
	}
	ce, n := readUntilClose(t, conn, 0)
	if ce.Code != websocket.ClosePolicyViolation || ce.Text != "slow consumer" {
		t.Errorf("close %d %q after %d pushes, want 1008 \"slow consumer\"", ce.Code, ce.Text, n)
	}
	if n == 0 {
		t.Error("no push arrived before the close")
	}
}

// TestTooSlowConsumerGetsClose: a client reading ten times slower than the
// server pushes is closed with 1008 once its queue overflows, and reads the
// close frame after the frames already sent.
func TestTooSlowConsumerGetsClose(t *testing.T) {
	url, terms, _ := slowServer(t, phx.Config{QueueLength: 16}, handler.Options{CloseTimeout: 4 * waitTimeout})
	conn := dialSmall(t, url)
	joinSlow(t, conn)
	send(t, conn, `["1","2","slow:1","push",{"size":1500,"every_ms":1}]`)
	ce, n := readUntilClose(t, conn, 10*time.Millisecond)
	if ce.Code != websocket.ClosePolicyViolation || ce.Text != "slow consumer" {
		t.Errorf("close %d %q after %d pushes, want 1008 \"slow consumer\"", ce.Code, ce.Text, n)
	}
	if err := terms.wait(t); !errors.Is(err, phx.ErrSlowConsumer) {
		t.Errorf("channel ended with %v, want ErrSlowConsumer", err)
	}
}

// TestWriteTimeoutGetsClose: a client that stops reading without
// overflowing its queue is closed with 1008 once a write has waited
// WriteTimeout, and sees the close frame when it reads again.
func TestWriteTimeoutGetsClose(t *testing.T) {
	url, terms, _ := slowServer(t, phx.Config{}, handler.Options{WriteTimeout: 200 * time.Millisecond, CloseTimeout: 4 * waitTimeout})
	conn := dialSmall(t, url)
	joinSlow(t, conn)
	// ≈ 300 KB: more than the socket buffers hold, far below the queue's
	// limits.
	send(t, conn, `["1","2","slow:1","push",{"size":3000,"count":100}]`)
	if err := terms.wait(t); !errors.Is(err, phx.ErrSlowConsumer) {
		t.Fatalf("channel ended with %v, want ErrSlowConsumer", err)
	}
	ce, n := readUntilClose(t, conn, 0)
	if ce.Code != websocket.ClosePolicyViolation {
		t.Errorf("close %d %q after %d pushes, want 1008", ce.Code, ce.Text, n)
	}
	if n >= 100 {
		t.Errorf("all %d pushes arrived: the write never timed out", n)
	}
}

// TestSlowConsumerGivenUp: a client that does not read again has its
// connection closed once CloseTimeout has passed, and its session goes away.
func TestSlowConsumerGivenUp(t *testing.T) {
	url, terms, ep := slowServer(t, phx.Config{QueueLength: 16}, handler.Options{CloseTimeout: 100 * time.Millisecond})
	conn := dialSmall(t, url)
	joinSlow(t, conn)
	send(t, conn, `["1","2","slow:1","push",{"size":3000}]`)
	if err := terms.wait(t); !errors.Is(err, phx.ErrSlowConsumer) {
		t.Fatalf("channel ended with %v, want ErrSlowConsumer", err)
	}
	// The session is detached once the connection's goroutines let go of
	// it, after the connection is closed.
	deadline := time.Now().Add(waitTimeout)
	for ep.Sessions() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the connection is still held long after CloseTimeout")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Reading at last, the client finds the connection ended.
	conn.SetReadDeadline(time.Now().Add(waitTimeout))
	for {
		if _, _, err := conn.ReadMessage(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the connection is still open")
			}
			break
		}
	}
}

// TestRefusalClosesConnection: every refused upgrade is answered with
// "Connection: close" and the server closes the connection, which a plain
// http.Server would otherwise keep open for good, waiting for a next
// request the client will never send.
func TestRefusalClosesConnection(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	connect := func(r *http.Request, info *phx.ConnectInfo) error {
		switch info.Params["token"] {
		case "bad":
			return handler.ErrRefused
		case "busy":
			return &handler.HTTPError{Status: http.StatusTooManyRequests, Reason: "slow down"}
		}
		return nil
	}
	srv := serve(t, newHandler(ep, handler.Options{Connect: connect}))
	upgrade := "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	for _, tt := range []struct {
		name, request string
		want          int
	}{
		{"origin", "GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\n" + upgrade + "Origin: https://evil.example\r\n", http.StatusForbidden},
		{"connect hook", "GET /socket/websocket?vsn=2.0.0&token=bad HTTP/1.1\r\n" + upgrade, http.StatusForbidden},
		{"connect hook status", "GET /socket/websocket?vsn=2.0.0&token=busy HTTP/1.1\r\n" + upgrade, http.StatusTooManyRequests},
		{"vsn", "GET /socket/websocket?vsn=9.0.0 HTTP/1.1\r\n" + upgrade, http.StatusForbidden},
		{"subprotocol", "GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\n" + upgrade + "Sec-WebSocket-Protocol: chat\r\n", http.StatusForbidden},
		{"websocket version", "GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\n" + strings.Replace(upgrade, "Version: 13", "Version: 8", 1), http.StatusBadRequest},
		{"no key", "GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n", http.StatusBadRequest},
		{"not an upgrade", "GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\n", http.StatusBadRequest},
		{"method", "POST /socket/websocket?vsn=2.0.0 HTTP/1.1\r\nContent-Length: 0\r\n" + upgrade, http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", srv.Listener.Addr().String(), waitTimeout)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(waitTimeout))
			if _, err := io.WriteString(c, tt.request+"Host: "+srv.Listener.Addr().String()+"\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want || !resp.Close {
				t.Errorf("status %d, Connection %q; want %d and close", resp.StatusCode, resp.Header.Get("Connection"), tt.want)
			}
			// The server closes its end: the next read ends, before the
			// deadline, with the end of the stream.
			if n, err := br.Read(make([]byte, 1)); err != io.EOF {
				t.Errorf("after the refusal: read %d bytes, %v; want the connection closed (EOF)", n, err)
			}
		})
	}
	if n := ep.Sessions(); n != 0 {
		t.Errorf("%d sessions left open by refused requests", n)
	}
}
