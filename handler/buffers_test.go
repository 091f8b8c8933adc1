package handler_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

// countingPool is a handler.BufferPool that counts what it lends.
type countingPool struct {
	p          sync.Pool
	gets, puts atomic.Int64
}

func (c *countingPool) Get() any  { c.gets.Add(1); return c.p.Get() }
func (c *countingPool) Put(x any) { c.puts.Add(1); c.p.Put(x) }

// TestBufferOptions: frames larger than the read buffer and replies larger
// than the write buffer go through whatever the buffer options, and write
// buffers come from the configured pool and go back to it.
func TestBufferOptions(t *testing.T) {
	pool := &countingPool{}
	tests := []struct {
		name string
		opts handler.Options
	}{
		{"defaults", handler.Options{}},
		{"tiny buffers", handler.Options{ReadBufferSize: 64, WriteBufferSize: 64}},
		{"HTTP server's read buffer", handler.Options{ReadBufferSize: -1}},
		{"own pool", handler.Options{WriteBufferPool: pool}},
	}
	big := strings.Repeat("y", 20000)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, _ := testEndpoint(t, phx.Config{})
			srv := serve(t, newHandler(ep, tt.opts))
			conn, _ := mustDial(t, wsURL(srv, "/websocket?vsn=2.0.0"), nil)
			send(t, conn, `["1","1","room:1","phx_join",{}]`)
			read(t, conn)
			send(t, conn, `["1","2","room:1","echo",{"s":"`+big+`"}]`)
			expect(t, conn, `["1","2","room:1","phx_reply",{"status":"ok","response":{"s":"`+big+`"}}]`)
		})
	}
	if g, p := pool.gets.Load(), pool.puts.Load(); g < 2 || g != p {
		t.Errorf("custom pool: %d gets, %d puts; want ≥ 2 and every buffer returned", g, p)
	}
}

// TestServeHTTPReturnsAfterUpgrade: the HTTP handler returns once the
// connection is upgraded (the request and the server's goroutine are not
// held for the connection's life), and the connection keeps working.
func TestServeHTTPReturnsAfterUpgrade(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	h := newHandler(ep, handler.Options{})
	returned := make(chan struct{}, 1)
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		returned <- struct{}{}
	}))
	conn, _ := mustDial(t, wsURL(srv, "/socket/websocket?vsn=2.0.0"), nil)
	select {
	case <-returned:
	case <-time.After(waitTimeout):
		t.Fatal("ServeHTTP still running while the connection is open")
	}
	send(t, conn, `["1","1","room:1","phx_join",{}]`)
	read(t, conn)
	send(t, conn, `["1","2","room:1","echo",{"a":1}]`)
	expect(t, conn, `["1","2","room:1","phx_reply",{"status":"ok","response":{"a":1}}]`)
}

// TestPipelinedFrames: frames arriving together (in one TCP segment, so
// they sit in the read buffer at once) are all handled; the reader does not
// wait on the socket while complete frames are buffered.
func TestPipelinedFrames(t *testing.T) {
	for _, size := range []int{0, -1} {
		t.Run(fmt.Sprint("ReadBufferSize ", size), func(t *testing.T) {
			ep, _ := testEndpoint(t, phx.Config{})
			srv := serve(t, newHandler(ep, handler.Options{ReadBufferSize: size}))
			conn, _ := mustDial(t, wsURL(srv, "/websocket?vsn=2.0.0"), nil)
			send(t, conn, `["1","1","room:1","phx_join",{}]`)
			read(t, conn)
			const n = 20
			var batch []byte
			for i := 0; i < n; i++ {
				payload := fmt.Sprintf(`["1","%d","room:1","echo",{"i":%d}]`, i, i)
				// a masked client text frame with a zero masking key
				batch = append(batch, 0x81, 0x80|byte(len(payload)), 0, 0, 0, 0)
				batch = append(batch, payload...)
			}
			if _, err := conn.UnderlyingConn().Write(batch); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				expect(t, conn, fmt.Sprintf(`["1","%d","room:1","phx_reply",{"status":"ok","response":{"i":%d}}]`, i, i))
			}
		})
	}
}

// TestTLS: over TLS (whose records crypto/tls buffers, so that the socket
// alone cannot tell whether a message is ready) joins, replies, pipelined
// frames and the idle timeout work as over TCP.
func TestTLS(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	srv := httptest.NewTLSServer(newHandler(ep, handler.Options{IdleTimeout: 300 * time.Millisecond}))
	t.Cleanup(srv.Close)
	d := websocket.Dialer{HandshakeTimeout: waitTimeout, TLSClientConfig: srv.Client().Transport.(*http.Transport).TLSClientConfig}
	conn, _, err := d.Dial(wsURL(srv, "/websocket?vsn=2.0.0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	send(t, conn, `["1","1","room:1","phx_join",{}]`)
	read(t, conn)
	for i := 0; i < 5; i++ {
		send(t, conn, fmt.Sprintf(`["1","%d","room:1","echo",{"i":%d}]`, i, i))
	}
	for i := 0; i < 5; i++ {
		expect(t, conn, fmt.Sprintf(`["1","%d","room:1","phx_reply",{"status":"ok","response":{"i":%d}}]`, i, i))
	}
	if code := closeCode(t, conn); code != websocket.CloseGoingAway {
		t.Fatalf("idle TLS connection closed with %d, want 1001", code)
	}
}
