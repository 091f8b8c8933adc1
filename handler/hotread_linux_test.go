//go:build linux

package handler_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

// blockingClient is a WebSocket client over a blocking socket, read and written
// with plain system calls: no runtime poller, no buffering, so that the
// test knows every read it makes.
type blockingClient struct {
	t     *testing.T
	fd    int
	f     *os.File
	buf   []byte
	reads int // read(2) calls made
}

func dialBlocking(t *testing.T, addr, path string) *blockingClient {
	t.Helper()
	rc := rawDial(t, addr, path, "")
	if rc.br.Buffered() > 0 {
		t.Fatal("data after the upgrade response")
	}
	f, err := rc.conn.(*net.TCPConn).File() // a blocking duplicate
	rc.conn.Close()                         // the duplicate alone holds the socket
	if err != nil {
		t.Fatal(err)
	}
	c := &blockingClient{t: t, fd: int(f.Fd()), f: f}
	t.Cleanup(func() { f.Close() })
	tv := syscall.Timeval{Sec: int64(waitTimeout / time.Second)}
	syscall.SetsockoptTimeval(c.fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	return c
}

func (c *blockingClient) write(b []byte) {
	c.t.Helper()
	for len(b) > 0 {
		n, err := syscall.Write(c.fd, b)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			c.t.Fatal(err)
		}
		b = b[n:]
	}
}

// next returns the next frame's opcode and payload.
func (c *blockingClient) next() (byte, string) {
	c.t.Helper()
	for {
		if end, _, op, ok := handler.FrameEnd(c.buf); ok {
			hdr := 2 // the server's frames are not masked
			switch c.buf[1] & 0x7f {
			case 126:
				hdr = 4
			case 127:
				hdr = 10
			}
			p := string(c.buf[hdr:end])
			c.buf = c.buf[end:]
			return op, p
		}
		b := make([]byte, 4096)
		n, err := syscall.Read(c.fd, b)
		c.reads++                 // counted as the kernel counts it, interrupted or not
		if err == syscall.EINTR { // the runtime's preemption signal
			continue
		}
		if err != nil || n == 0 {
			c.t.Fatalf("read: %d %v", n, err)
		}
		c.buf = append(c.buf, b[:n]...)
	}
}

func (c *blockingClient) expect(want string) {
	c.t.Helper()
	if op, got := c.next(); op != 1 || got != want {
		c.t.Fatalf("got op %d %s, want %s", op, got, want)
	}
}

// readSyscalls is the process's read(2) count (/proc/self/io syscr).
func readSyscalls(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no /proc/self/io:", err)
		}
		t.Skip("no /proc/self/io:", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscr: "); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	t.Fatal("no syscr in /proc/self/io")
	return 0
}

func rawGateServer(t *testing.T, opts handler.Options) (*blockingClient, *gate) {
	t.Helper()
	ep, _ := testEndpoint(t, phx.Config{})
	g := &gate{entered: make(chan string, 1), release: make(chan struct{})}
	ep.Handle("gate:*", g)
	srv := serve(t, newHandler(ep, opts))
	c := dialBlocking(t, strings.TrimPrefix(srv.URL, "http://"), "/websocket?vsn=2.0.0")
	c.write(clientFrame(true, 1, `["1","1","gate:a","phx_join",{}]`))
	c.expect(`["1","1","gate:a","phx_reply",{"status":"ok","response":{}}]`)
	return c, g
}

// TestHotReadSkipsEmptySocket: between a client's request and its next
// one, the connection's reader waits for the socket without reading it
// first, whether it waits itself (hot) or leaves it to the poller (parked,
// which re-arms the socket instead). A goroutine per connection (and
// gorilla, and this handler before hot sessions) reads twice per message:
// the message, then an empty socket (EAGAIN) before it waits.
func TestHotReadSkipsEmptySocket(t *testing.T) {
	const most = 1.25 // server reads per round trip
	for _, tc := range []struct {
		name string
		opts handler.Options
	}{
		{"hot", handler.Options{}},
		{"parked", handler.Options{ParkAfter: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := rawGateServer(t, tc.opts)
			const n = 400
			frames := make([][]byte, n)
			for i := range frames {
				frames[i] = clientFrame(true, 1, `["1","`+strconv.Itoa(i)+`","gate:a","echo",{}]`)
			}
			before, clientBefore := readSyscalls(t), c.reads
			for i, f := range frames {
				c.write(f)
				c.expect(`["1","` + strconv.Itoa(i) + `","gate:a","phx_reply",{"status":"ok","response":{}}]`)
			}
			server := float64(readSyscalls(t)-before-(c.reads-clientBefore)) / n
			t.Logf("%s: %.2f server reads per round trip", tc.name, server)
			if server > most {
				t.Errorf("%.2f server reads per round trip, want at most %.2f", server, most)
			}
		})
	}
}

// TestHotReadSplitFrames: a frame that arrives in pieces is put together,
// whether its rest comes while the reader waits for it (within ParkAfter)
// or after the connection was parked with the poller; control frames
// between messages are answered and the messages after them served.
func TestHotReadSplitFrames(t *testing.T) {
	c, _ := rawGateServer(t, handler.Options{ParkAfter: 20 * time.Millisecond})
	ref := 0
	echo := func() ([]byte, string) {
		ref++
		r := strconv.Itoa(ref)
		return clientFrame(true, 1, `["1","`+r+`","gate:a","echo",{"n":`+r+`}]`),
			`["1","` + r + `","gate:a","phx_reply",{"status":"ok","response":{"n":` + r + `}}]`
	}
	for _, pause := range []time.Duration{0, time.Millisecond, 50 * time.Millisecond} {
		for _, cut := range []int{1, 2, 5, 7, 20} {
			f, want := echo()
			c.write(f[:cut])
			time.Sleep(pause)
			c.write(f[cut:])
			c.expect(want)
		}
	}
	// Two messages in one write, the second cut short, then its rest.
	f1, want1 := echo()
	f2, want2 := echo()
	both := append(f1, f2...)
	c.write(both[:len(f1)+3])
	c.expect(want1)
	time.Sleep(5 * time.Millisecond)
	c.write(both[len(f1)+3:])
	c.expect(want2)
	// A ping between messages, and one cut in two.
	ping := clientFrame(true, 9, "hi")
	f, want := echo()
	c.write(append(append([]byte{}, ping...), f...))
	if op, p := c.next(); op != 10 || p != "hi" {
		t.Fatalf("got op %d %q, want a pong", op, p)
	}
	c.expect(want)
	c.write(ping[:3])
	time.Sleep(time.Millisecond)
	c.write(ping[3:])
	if op, p := c.next(); op != 10 || p != "hi" {
		t.Fatalf("got op %d %q, want a pong", op, p)
	}
	// A message larger than the read buffer, after small ones.
	big := strings.Repeat("x", 2000)
	c.write(clientFrame(true, 1, `["1","big","gate:a","echo",{"s":"`+big+`"}]`))
	c.expect(`["1","big","gate:a","phx_reply",{"status":"ok","response":{"s":"` + big + `"}}]`)
	f, want = echo()
	c.write(f)
	c.expect(want)
}

// TestHotReadClientCloses: a client that closes its socket while the
// reader waits for it ends the connection (the endpoint sees its session
// end).
func TestHotReadClientCloses(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	g := &gate{entered: make(chan string, 1), release: make(chan struct{})}
	ep.Handle("gate:*", g)
	srv := serve(t, newHandler(ep, handler.Options{ParkAfter: time.Minute}))
	c := dialBlocking(t, strings.TrimPrefix(srv.URL, "http://"), "/websocket?vsn=2.0.0")
	c.write(clientFrame(true, 1, `["1","1","gate:a","phx_join",{}]`))
	c.expect(`["1","1","gate:a","phx_reply",{"status":"ok","response":{}}]`)
	deadline := time.Now().Add(waitTimeout)
	for ep.Sessions() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("no session")
		}
		time.Sleep(time.Millisecond)
	}
	c.f.Close()
	for ep.Sessions() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the session outlived its socket")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestHotReadAfterRescue: a callback that runs long inside a hot session
// holds the socket's read lock; the poller's sweep takes the read side
// back, and heartbeats are read around the lock meanwhile. Once the
// callback returns, the connection's reader waits for its messages itself
// again (a rescued connection is handed to the poller after every message).
func TestHotReadAfterRescue(t *testing.T) {
	c, g := rawGateServer(t, handler.Options{ParkAfter: time.Minute})
	c.write(clientFrame(true, 1, `["1","2","gate:a","echo",{}]`))
	c.expect(`["1","2","gate:a","phx_reply",{"status":"ok","response":{}}]`)
	c.write(clientFrame(true, 1, `["1","3","gate:a","block",{}]`)) // read by the hot session
	<-g.entered
	c.write(clientFrame(true, 1, `[null,"4","phoenix","heartbeat",{}]`))
	c.expect(`[null,"4","phoenix","phx_reply",{"status":"ok","response":{}}]`)
	if n := waitingHot(); n != 0 {
		t.Fatalf("%d readers wait in a hot session during the rescue, want 0 (the poller watches)", n)
	}
	close(g.release)
	c.expect(`["1","3","gate:a","phx_reply",{"status":"ok","response":{}}]`)
	deadline := time.Now().Add(waitTimeout)
	for i := 5; waitingHot() != 1; i++ {
		if time.Now().After(deadline) {
			t.Fatal("the reader does not wait for the socket itself again")
		}
		r := strconv.Itoa(i)
		c.write(clientFrame(true, 1, `["1","`+r+`","gate:a","echo",{}]`))
		c.expect(`["1","` + r + `","gate:a","phx_reply",{"status":"ok","response":{}}]`)
		time.Sleep(time.Millisecond)
	}
}

// waitingHot counts the goroutines waiting for input in a hot session.
func waitingHot() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			count := 0
			for _, g := range strings.Split(string(buf[:n]), "\n\n") {
				if strings.Contains(g, "handler.(*wsConn).hot(") && strings.Contains(g, "internal/poll.(*pollDesc).waitRead(") {
					count++
				}
			}
			return count
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestHotReadUnixSocket: a WebSocket over a Unix socket is read by hot
// sessions too: round trips, and a frame that arrives in two pieces.
func TestHotReadUnixSocket(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	g := &gate{entered: make(chan string, 1), release: make(chan struct{})}
	ep.Handle("gate:*", g)
	path := t.TempDir() + "/ws.sock"
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: newHandler(ep, handler.Options{ParkAfter: time.Minute})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	d := websocket.Dialer{
		HandshakeTimeout: waitTimeout,
		NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		},
	}
	conn, resp, err := d.Dial("ws://unix/websocket?vsn=2.0.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	t.Cleanup(func() { conn.Close() })
	send(t, conn, `["1","1","gate:a","phx_join",{}]`)
	expect(t, conn, `["1","1","gate:a","phx_reply",{"status":"ok","response":{}}]`)
	for i := range 50 {
		r := strconv.Itoa(i + 2)
		send(t, conn, `["1","`+r+`","gate:a","echo",{"n":`+r+`}]`)
		expect(t, conn, `["1","`+r+`","gate:a","phx_reply",{"status":"ok","response":{"n":`+r+`}}]`)
	}
	for deadline := time.Now().Add(waitTimeout); waitingHot() != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the reader does not wait in a hot session")
		}
	}
	f := clientFrame(true, websocket.TextMessage, `["1","99","gate:a","echo",{}]`)
	nc := conn.NetConn()
	nc.Write(f[:5])
	time.Sleep(time.Millisecond)
	nc.Write(f[5:])
	expect(t, conn, `["1","99","gate:a","phx_reply",{"status":"ok","response":{}}]`)
}

// FuzzHotRead: whatever bytes a client sends, in whatever pieces, the
// connection either ends (a close frame or the socket closed) or answers
// the heartbeat sent after them; it never hangs with input it could read.
// Each input is a stream of bytes and the sizes of the writes that carry
// it (cuts: one byte a write, cycled).
func FuzzHotRead(f *testing.F) {
	join := clientFrame(true, 1, `["1","1","gate:a","phx_join",{}]`)
	echo := clientFrame(true, 1, `["1","2","gate:a","echo",{"n":2}]`)
	ping := clientFrame(true, 9, "p")
	frag := append(clientFrame(false, 1, `["1","3","gate:a",`), clientFrame(true, 0, `"echo",{}]`)...)
	big := clientFrame(true, 1, `["1","4","gate:a","echo",{"s":"`+strings.Repeat("y", 700)+`"}]`)
	for _, seed := range [][]byte{
		join, append(join, echo...), append(append(join, ping...), echo...), append(join, frag...),
		append(join, big...), join[:3], append(join, echo[:9]...), {0x81, 0xfe, 0xff}, {0x88, 0x80, 0, 0, 0, 0},
		[]byte("GET / HTTP/1.1\r\n\r\n"),
	} {
		f.Add(seed, []byte{1, 3, 7, 200})
		f.Add(seed, []byte{255})
	}
	ep, _ := testEndpoint(f, phx.Config{})
	ep.Handle("gate:*", &gate{entered: make(chan string, 1), release: make(chan struct{})})
	srv := serve(f, newHandler(ep, handler.Options{ParkAfter: 5 * time.Millisecond}))
	addr := strings.TrimPrefix(srv.URL, "http://")
	heartbeat := clientFrame(true, 1, `[null,"hb","phoenix","heartbeat",{}]`)
	f.Fuzz(func(t *testing.T, stream, cuts []byte) {
		c := rawDial(t, addr, "/websocket?vsn=2.0.0", "")
		all := stream
		for i := 0; len(stream) > 0; i++ {
			n := 1
			if len(cuts) > 0 {
				n = max(1, int(cuts[i%len(cuts)]))
			}
			n = min(n, len(stream))
			if _, err := c.conn.Write(stream[:n]); err != nil {
				return // the server ended the connection
			}
			stream = stream[n:]
			if i%3 == 2 {
				time.Sleep(time.Millisecond) // past some of the hot session's waits
			}
		}
		if _, err := c.conn.Write(heartbeat); err != nil {
			return
		}
		if !wholeFrames(append(all, heartbeat...)) {
			return // the heartbeat is inside a frame still to come: nothing to wait for
		}
		// Frames until the heartbeat's reply, a close frame or the end.
		for {
			fr, err := c.tryNext()
			switch {
			case isTimeoutErr(err):
				t.Fatal("no answer and no close: the connection hangs")
			case err != nil, fr.op == 8:
				return // the server closed it
			case strings.Contains(string(fr.payload), `"hb"`):
				return // answered
			}
		}
	})
}

// wholeFrames reports whether b is a sequence of whole frames by their
// headers' lengths (whatever else is wrong with them).
func wholeFrames(b []byte) bool {
	for len(b) > 0 {
		end, _, _, ok := handler.FrameEnd(b)
		if !ok {
			return false
		}
		b = b[end:]
	}
	return true
}

func isTimeoutErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
