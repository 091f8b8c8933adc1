package handler_test

import (
	"errors"
	"runtime"
	"strconv"
	"strings"
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
	for waiting() > 0 { // parked after ParkAfter (10 ms)
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines still wait for their idle connection's next message", waiting())
		}
		time.Sleep(10 * time.Millisecond)
	}
	echoThenLeave(t, ep, all)
}

// echoThenLeave has each connection (joined to room:<its index>) echo
// once, then closes them all and waits until their sessions have ended.
func echoThenLeave(t *testing.T, ep *phx.Endpoint, all []*websocket.Conn) {
	t.Helper()
	for i, conn := range all {
		ref := strconv.Itoa(i)
		send(t, conn, `["1","`+ref+`","room:`+ref+`","echo",{"n":`+ref+`}]`)
		expect(t, conn, `["1","`+ref+`","room:`+ref+`","phx_reply",{"status":"ok","response":{"n":`+ref+`}}]`)
	}
	for _, conn := range all {
		conn.Close()
	}
	waitNoSessions(t, ep)
}

// waitNoSessions waits until every session of ep has ended.
func waitNoSessions(t *testing.T, ep *phx.Endpoint) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
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

// TestParkAfter: a connection keeps a reading goroutine for ParkAfter
// after a message (here for good), so busy connections hold one each; it
// still ends when its client leaves.
func TestParkAfter(t *testing.T) {
	const conns = 20
	ep, _ := testEndpoint(t, phx.Config{})
	srv := serve(t, newHandler(ep, handler.Options{ParkAfter: time.Hour}))
	var all []*websocket.Conn
	for i := range conns {
		conn, _ := mustDial(t, wsURL(srv, "/websocket?vsn=2.0.0"), nil)
		ref := strconv.Itoa(i)
		joinResponse(t, conn, "room:"+ref)
		send(t, conn, `["1","`+ref+`","room:`+ref+`","echo",{"n":`+ref+`}]`)
		expect(t, conn, `["1","`+ref+`","room:`+ref+`","phx_reply",{"status":"ok","response":{"n":`+ref+`}}]`)
		all = append(all, conn)
	}
	// Each reader gets to its wait once its reply is written; then it
	// stays there, the pooled goroutines' idle exit (200 ms) included.
	deadline := time.Now().Add(waitTimeout)
	for waiting() < conns && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if n := waiting(); n != conns {
		t.Fatalf("%d goroutines wait for their connection's next message, want %d (one each)", n, conns)
	}
	for i, conn := range all {
		ref := strconv.Itoa(i)
		send(t, conn, `["1","`+ref+`","room:`+ref+`","echo",{}]`)
		expect(t, conn, `["1","`+ref+`","room:`+ref+`","phx_reply",{"status":"ok","response":{}}]`)
		conn.Close()
	}
	waitNoSessions(t, ep)
}

// TestSlowMessageOutlivesParkAfter: a message whose frames arrive in parts,
// far apart compared with ParkAfter (and with a ping between two
// fragments), is read whole: ParkAfter bounds the wait before a message,
// not the reading of one.
func TestSlowMessageOutlivesParkAfter(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	srv := serve(t, newHandler(ep, handler.Options{ParkAfter: 5 * time.Millisecond}))
	conn, _ := mustDial(t, wsURL(srv, "/websocket?vsn=2.0.0"), nil)
	joinResponse(t, conn, "room:slow")
	raw := conn.NetConn()
	pause := func() { time.Sleep(60 * time.Millisecond) }
	write := func(b []byte) {
		t.Helper()
		if _, err := raw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	// One frame, cut in the header, in its mask and in the payload.
	f := clientFrame(true, websocket.TextMessage, `["1","1","room:slow","echo",{"n":1}]`)
	for _, part := range [][]byte{f[:4], f[4:5], f[5:9], f[9:]} {
		write(part)
		pause()
	}
	expect(t, conn, `["1","1","room:slow","phx_reply",{"status":"ok","response":{"n":1}}]`)
	// Fragments, a ping between them.
	write(clientFrame(false, websocket.TextMessage, `["1","2","room:slow",`))
	pause()
	write(clientFrame(true, websocket.PingMessage, ""))
	pause()
	write(clientFrame(true, 0, `"echo",{"n":2}]`))
	expect(t, conn, `["1","2","room:slow","phx_reply",{"status":"ok","response":{"n":2}}]`)
	// The connection is still served, and idle again.
	pause()
	send(t, conn, `["1","3","room:slow","echo",{}]`)
	expect(t, conn, `["1","3","room:slow","phx_reply",{"status":"ok","response":{}}]`)
}

// waiting counts the goroutines waiting for their connection's next
// message.
func waiting() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "handler.(*wsConn).await(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// clientFrame is a client's frame with a zero mask (the payload is sent
// as is), for tests that write frames in parts.
func clientFrame(fin bool, op int, payload string) []byte {
	b0 := byte(op)
	if fin {
		b0 |= 0x80
	}
	return handler.MaskedFrame(b0, [4]byte{}, []byte(payload))
}

// TestMixedFramesInOneWrite: messages the handler reads itself (whole
// single frames, with a 7-bit and a 16-bit length) and those it leaves to
// gorilla (fragments with a ping between them, a frame over 16 KiB)
// interleave in one buffer and are all answered, in order.
func TestMixedFramesInOneWrite(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	srv := serve(t, newHandler(ep, handler.Options{}))
	conn, _ := mustDial(t, wsURL(srv, "/websocket?vsn=2.0.0"), nil)
	joinResponse(t, conn, "room:mixed")
	long, big := strings.Repeat("x", 300), strings.Repeat("y", 17<<10)
	var b []byte
	b = append(b, clientFrame(true, websocket.TextMessage, `["1","1","room:mixed","echo",{"n":1}]`)...)
	b = append(b, clientFrame(false, websocket.TextMessage, `["1","2","room:mixed",`)...)
	b = append(b, clientFrame(true, websocket.PingMessage, "p")...)
	b = append(b, clientFrame(true, 0, `"echo",{"n":2}]`)...)
	b = append(b, clientFrame(true, websocket.TextMessage, `["1","3","room:mixed","echo",{"s":"`+long+`"}]`)...)
	b = append(b, clientFrame(true, websocket.TextMessage, `["1","4","room:mixed","echo",{"s":"`+big+`"}]`)...)
	b = append(b, clientFrame(true, websocket.TextMessage, `["1","5","room:mixed","echo",{"n":5}]`)...)
	if _, err := conn.NetConn().Write(b); err != nil {
		t.Fatal(err)
	}
	expect(t, conn, `["1","1","room:mixed","phx_reply",{"status":"ok","response":{"n":1}}]`)
	expect(t, conn, `["1","2","room:mixed","phx_reply",{"status":"ok","response":{"n":2}}]`)
	expect(t, conn, `["1","3","room:mixed","phx_reply",{"status":"ok","response":{"s":"`+long+`"}}]`)
	expect(t, conn, `["1","4","room:mixed","phx_reply",{"status":"ok","response":{"s":"`+big+`"}}]`)
	expect(t, conn, `["1","5","room:mixed","phx_reply",{"status":"ok","response":{"n":5}}]`)
}
