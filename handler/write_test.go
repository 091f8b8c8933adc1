package handler_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

// TestBurstUnderBackpressure: a client with a tiny receive buffer that does
// not read while the server pushes megabytes gets every frame, whole and in
// order, once it reads: writes the socket could not take at once are
// finished by the writer, frames of every length encoding included.
func TestBurstUnderBackpressure(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts handler.Options
	}{
		{"defaults", handler.Options{}},
		{"tiny write buffers", handler.Options{WriteBufferSize: 64}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ep, _ := testEndpoint(t, phx.Config{QueueLength: 4096, QueueBytes: 64 << 20})
			srv := serve(t, newHandler(ep, tt.opts))
			conn := dialReadBuffer(t, srv, 256<<10)
			joinResponse(t, conn, "room:1")
			const n = 600 // ≈ 10 MB: far more than the socket buffers hold
			send(t, conn, fmt.Sprintf(`["1","2","room:1","burst",{"count":%d}]`, n))
			for i := range n {
				conn.SetReadDeadline(time.Now().Add(waitTimeout))
				_, data, err := conn.ReadMessage()
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				var m []json.RawMessage
				var p struct {
					I   int    `json:"i"`
					Pad string `json:"pad"`
				}
				if err := json.Unmarshal(data, &m); err != nil || len(m) != 5 {
					t.Fatalf("frame %d: %.80s: %v", i, data, err)
				}
				if err := json.Unmarshal(m[4], &p); err != nil {
					t.Fatalf("frame %d payload: %v", i, err)
				}
				if p.I != i || p.Pad != burstPad(i) {
					t.Fatalf("frame %d: got i=%d with %d bytes of padding, want i=%d with %d", i, p.I, len(p.Pad), i, len(burstPad(i)))
				}
			}
			expect(t, conn, `["1","2","room:1","phx_reply",{"status":"ok","response":{}}]`)
		})
	}
}

// TestPingAnswered: a client's ping is answered with a pong carrying the
// same data, between the session's frames.
func TestPingAnswered(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	srv := serve(t, newHandler(ep, handler.Options{}))
	conn, _ := mustDial(t, wsURL(srv, "/socket/websocket?vsn=2.0.0"), nil)
	pongs := make(chan string, 4)
	conn.SetPongHandler(func(data string) error {
		pongs <- data
		return nil
	})
	joinResponse(t, conn, "room:1")
	if err := conn.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	send(t, conn, `["1","2","room:1","echo",{"a":1}]`)
	// The pong is handled inside ReadMessage, before the reply is returned.
	expect(t, conn, `["1","2","room:1","phx_reply",{"status":"ok","response":{"a":1}}]`)
	select {
	case got := <-pongs:
		if got != "are you there" {
			t.Errorf("pong %q, want the ping's data", got)
		}
	default:
		t.Fatal("no pong before the reply to a later push")
	}
}

// TestClientCloseAnswered: a client's close frame is answered with a close
// frame and the channels end.
func TestClientCloseAnswered(t *testing.T) {
	ep, terms := testEndpoint(t, phx.Config{})
	srv := serve(t, newHandler(ep, handler.Options{}))
	conn, _ := mustDial(t, wsURL(srv, "/socket/websocket?vsn=2.0.0"), nil)
	joinResponse(t, conn, "room:1")
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")
	if err := conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	if code := closeCode(t, conn); code == -1 {
		t.Error("no close frame in answer")
	}
	if err := terms.wait(t); err == nil {
		t.Error("channel did not end")
	}
}

// TestInlineWriteAfterWriteDeadline: once the writer has had to wait for a
// client (setting a write deadline WriteTimeout ahead) and that deadline
// has passed with the client keeping up, frames written inline again still
// reach it: the inline write does not stop at the stale deadline.
func TestInlineWriteAfterWriteDeadline(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{QueueLength: 4096, QueueBytes: 64 << 20})
	const writeTimeout = 300 * time.Millisecond
	srv := serve(t, newHandler(ep, handler.Options{WriteTimeout: writeTimeout}))
	conn := dialReadBuffer(t, srv, 64<<10)
	joinResponse(t, conn, "room:1")
	// ≈ 10 MB, more than the socket buffers hold: the writer finishes it
	// with blocking writes, each setting the deadline.
	const n = 600
	send(t, conn, fmt.Sprintf(`["1","2","room:1","burst",{"count":%d}]`, n))
	time.Sleep(writeTimeout / 6) // the socket fills up
	for i := range n {
		conn.SetReadDeadline(time.Now().Add(waitTimeout))
		if _, _, err := conn.ReadMessage(); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	expect(t, conn, `["1","2","room:1","phx_reply",{"status":"ok","response":{}}]`)
	time.Sleep(3 * writeTimeout) // the last deadline passes
	send(t, conn, `["1","3","room:1","echo",{"a":1}]`)
	expect(t, conn, `["1","3","room:1","phx_reply",{"status":"ok","response":{"a":1}}]`)
}

// dialReadBuffer connects to srv with a socket receive buffer of size
// bytes, so that a burst fills it and the server's writes block.
func dialReadBuffer(t *testing.T, srv *httptest.Server, size int) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: waitTimeout, NetDial: func(network, addr string) (net.Conn, error) {
		c, err := net.Dial(network, addr)
		if err == nil {
			c.(*net.TCPConn).SetReadBuffer(size)
		}
		return c, err
	}}
	conn, _, err := d.Dial(wsURL(srv, "/socket/websocket?vsn=2.0.0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
