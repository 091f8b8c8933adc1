//go:build linux

package handler_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

// tlsDial opens a WebSocket to a TLS server over a TCP connection whose
// writes can be held and sent in one write (gather).
func tlsDial(t *testing.T, srv *httptest.Server) (*websocket.Conn, *gather) {
	t.Helper()
	cfg := srv.Client().Transport.(*http.Transport).TLSClientConfig
	var g *gather
	d := websocket.Dialer{HandshakeTimeout: waitTimeout, NetDialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		tc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		g = &gather{Conn: tc}
		cc := cfg.Clone()
		cc.ServerName, _, _ = net.SplitHostPort(addr)
		c := tls.Client(g, cc)
		return c, c.HandshakeContext(ctx)
	}}
	conn, resp, err := d.Dial(wsURL(srv, "/websocket?vsn=2.0.0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	t.Cleanup(func() { conn.Close() })
	return conn, g
}

// gather is a TCP connection that can hold its writes and send them in one.
type gather struct {
	net.Conn
	mu   sync.Mutex
	held []byte
	hold bool
}

func (g *gather) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.hold {
		g.held = append(g.held, p...)
		return len(p), nil
	}
	return g.Conn.Write(p)
}

// holdWrites makes the next writes wait for flush.
func (g *gather) holdWrites() {
	g.mu.Lock()
	g.hold = true
	g.mu.Unlock()
}

// flush sends the held writes in one write and stops holding.
func (g *gather) flush() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hold = false
	_, err := g.Conn.Write(g.held)
	g.held = nil
	return err
}

// TestTLSIdleConnectionsHoldNoGoroutine: idle TLS connections hold no
// goroutine either: the poller watches their TCP connection.
func TestTLSIdleConnectionsHoldNoGoroutine(t *testing.T) {
	const conns = 40
	ep, _ := testEndpoint(t, phx.Config{})
	srv := httptest.NewTLSServer(newHandler(ep, handler.Options{}))
	t.Cleanup(srv.Close)
	before := runtime.NumGoroutine()
	var all []*websocket.Conn
	for i := range conns {
		conn, _ := tlsDial(t, srv)
		joinResponse(t, conn, "room:"+strconv.Itoa(i))
		all = append(all, conn)
	}
	deadline := time.Now().Add(waitTimeout)
	for runtime.NumGoroutine()-before > conns/4 || waiting() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines more than before for %d idle TLS connections (%d waiting for a message)", runtime.NumGoroutine()-before, conns, waiting())
		}
		time.Sleep(10 * time.Millisecond)
	}
	echoThenLeave(t, ep, all)
}

// TestTLSRecordsInOneWrite: two TLS records that reach the server in one
// TCP segment are both answered, though the second waits inside
// crypto/tls and not in the socket, whether the reader parks the
// connection at once (ParkAfter < 0) or after a while.
func TestTLSRecordsInOneWrite(t *testing.T) {
	for _, park := range []time.Duration{-1, 0} {
		t.Run("ParkAfter="+park.String(), func(t *testing.T) {
			ep, _ := testEndpoint(t, phx.Config{})
			srv := httptest.NewTLSServer(newHandler(ep, handler.Options{ParkAfter: park, IdleTimeout: time.Minute}))
			t.Cleanup(srv.Close)
			conn, g := tlsDial(t, srv)
			joinResponse(t, conn, "room:1")
			for round := range 20 {
				a, b := strconv.Itoa(2*round), strconv.Itoa(2*round+1)
				g.holdWrites()
				send(t, conn, `["1","`+a+`","room:1","echo",{"n":`+a+`}]`)
				send(t, conn, `["1","`+b+`","room:1","echo",{"n":`+b+`}]`)
				if err := g.flush(); err != nil {
					t.Fatal(err)
				}
				expect(t, conn, `["1","`+a+`","room:1","phx_reply",{"status":"ok","response":{"n":`+a+`}}]`)
				expect(t, conn, `["1","`+b+`","room:1","phx_reply",{"status":"ok","response":{"n":`+b+`}}]`)
				time.Sleep(20 * time.Millisecond) // parked again in between
			}
		})
	}
}
