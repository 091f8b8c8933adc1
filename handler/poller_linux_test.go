package handler_test

import (
	"errors"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/internal/cuttest"
	"github.com/seance-go/seance/phx"
)

// TestIdleConnectionsHoldNoGoroutine: on Linux, joined connections that
// are idle hold no goroutine of their own (the handler's poller watches
// them), and they still answer when their client speaks again, and end
// when it leaves.
func TestIdleConnectionsHoldNoGoroutine(t *testing.T) {
	const conns = 40
	ep, _ := testEndpoint(t, phx.Config{})
	srv := serve(t, newHandler(ep, handler.Options{}))
	before := runtime.NumGoroutine()
	var all []*websocket.Conn
	for i := range conns {
		conn, _ := mustDial(t, wsURL(srv, "/websocket?vsn=2.0.0"), nil)
		joinResponse(t, conn, "room:"+strconv.Itoa(i))
		all = append(all, conn)
	}
	// Pooled readers and writers exit after 100 ms without work; the
	// server's per-request goroutines ended with the upgrades. What is
	// left for 40 connections is the poller's one goroutine and the
	// client side's, which hold none either.
	deadline := time.Now().Add(waitTimeout)
	for runtime.NumGoroutine()-before > conns/4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines more than before for %d idle connections", runtime.NumGoroutine()-before, conns)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i, conn := range all {
		ref := strconv.Itoa(i)
		send(t, conn, `["1","`+ref+`","room:`+ref+`","echo",{"n":`+ref+`}]`)
		expect(t, conn, `["1","`+ref+`","room:`+ref+`","phx_reply",{"status":"ok","response":{"n":`+ref+`}}]`)
	}
	for _, conn := range all {
		conn.Close()
	}
	deadline = time.Now().Add(waitTimeout)
	for ep.Sessions() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions left after every client left", ep.Sessions())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSocketClosedByOthersEnds: a connection whose socket is closed by
// code other than the handler (a middleware that kept the hijacked
// connection), while idle, ends: its channels terminate with
// phx.ErrDisconnected although the poller got no event for it.
func TestSocketClosedByOthersEnds(t *testing.T) {
	ep, terms := testEndpoint(t, phx.Config{})
	var cut cuttest.Cutter
	srv := serve(t, cut.Wrap(newHandler(ep, handler.Options{})))
	conn, _ := mustDial(t, wsURL(srv, "/websocket?vsn=2.0.0&client_id=a"), nil)
	joinResponse(t, conn, "room:1")
	if n := cut.Cut("a", 0); n != 1 {
		t.Fatalf("cut %d connections, want 1", n)
	}
	if err := terms.wait(t); !errors.Is(err, phx.ErrDisconnected) {
		t.Fatalf("channel ended with %v, want phx.ErrDisconnected", err)
	}
}
