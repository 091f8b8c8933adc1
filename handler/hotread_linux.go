//go:build linux

package handler

import (
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/phx"
)

// errAgain is a hot session's read of an empty socket.
var errAgain = errors.New("handler: socket empty")

// Read is what the connection's read buffer (gorilla's as well as the
// handler's) reads from. Inside a hot session it reads the socket directly,
// once, without waiting, and notes whether that emptied it; during a rescue
// it first reads what the socket holds without the descriptor's read lock;
// otherwise it is the connection's Read.
func (g *guardedConn) Read(p []byte) (int, error) {
	if g.fd >= 0 {
		return g.readFD(int(g.fd), p)
	}
	if g.rescue.Load() { // only ever set on a plain socket's
		// When the socket holds nothing (the rest of a message is on its
		// way), the read below waits for the callback holding the lock to
		// return.
		if n, err := g.readAround(p); err != errAgain {
			return n, err
		}
	}
	return g.Conn.Read(p)
}

// readFD reads the socket fd once, without waiting.
func (g *guardedConn) readFD(fd int, p []byte) (int, error) {
	for {
		n, err := syscall.Read(fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return 0, errAgain
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		g.drained = n < len(p)
		return n, nil
	}
}

// readAround reads the socket once, without waiting and without the
// descriptor's read lock (RawConn.Control only keeps it open). Rare (a
// rescue): what it allocates does not matter.
func (g *guardedConn) readAround(p []byte) (int, error) {
	raw, err := g.Conn.(syscall.Conn).SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	if cerr := raw.Control(func(fd uintptr) { n, err = g.readFD(int(fd), p) }); cerr != nil {
		return 0, cerr
	}
	return n, err
}

// plainSocket reports whether conn is a socket a hot session can read
// directly: TCP or Unix, without TLS.
func plainSocket(conn net.Conn) bool {
	switch conn.(type) {
	case *net.TCPConn, *net.UnixConn:
		return true
	}
	return false
}

// hotSession is one call of RawConn.Read: its function reads and handles
// the connection's messages while they come, and waits between them on the
// runtime's poller without giving the descriptor back, so that the
// readiness the poller noted since the last read is not reset (as each new
// Read would) and a drained socket need not be read again before the wait.
// One is lent per session from the handler's pool: the function is bound
// once, and its outcome belongs to the goroutine that ran it.
type hotSession struct {
	c     *wsConn
	fn    func(fd uintptr) bool // hs.step
	w     phx.Inline            // work left pending with input already buffered
	err   error                 // the error that ends the connection
	taken bool                  // the poller's sweep took the read side
}

// hot runs a hot session: it returns when the read side must leave this
// goroutine (gone: taken by the sweep, or handed to another reader while
// w runs here), when buffered input needs the general read path (more),
// at ParkAfter after the last message (neither), or with the error that
// ends the connection.
func (c *wsConn) hot() (more, gone bool, err error) {
	hs, _ := c.h.hots.Get().(*hotSession)
	if hs == nil {
		hs = new(hotSession)
		hs.fn = hs.step
	}
	hs.c = c
	c.g.drained = false // the session's first step reads: Read resets the readiness
	c.setHotDeadline()
	rerr := c.raw.Read(hs.fn)
	w, serr, taken := hs.w, hs.err, hs.taken
	*hs = hotSession{fn: hs.fn}
	c.h.hots.Put(hs)
	switch {
	case taken:
		c.g.rescue.Store(false) // the read lock is free again
		return false, true, nil
	case w.Pending():
		c.h.readers.run(c) // the rest is read by another
		w.Run()
		return false, true, nil
	case serr != nil:
		return false, false, serr
	case rerr == nil:
		return true, false, nil
	case isTimeout(rerr):
		return false, false, nil
	}
	return false, false, readError(rerr)
}

// step is the hot session's function for RawConn.Read. It reports true to
// end the session, false to wait for input.
func (hs *hotSession) step(fd uintptr) bool {
	c := hs.c
	for {
		if kind, data, ok := takeFrame(c.br, c.h.opts.MaxFrameSize); ok {
			w, err := c.sess.ReceiveInline(data, kind == websocket.BinaryMessage)
			if err != nil {
				c.sess.Logger().Info("handler: closing connection", "error", err)
				hs.err = err
				return true
			}
			c.readAt = time.Now()
			if !w.Pending() {
				continue
			}
			if c.br.Buffered() > 0 {
				hs.w = w
				return true
			}
			// The read side is lent to the callback (see readReady).
			lent := (c.h.poll.clock(c.readAt)+1)<<1 | lentHot
			c.lent.Store(lent)
			w.Run()
			if !c.lent.CompareAndSwap(lent, 0) {
				hs.taken = true // hs is this goroutine's: the new reader has its own
				return true
			}
			continue
		}
		b, _ := c.br.Peek(c.br.Buffered())
		if !fastPrefix(b, c.h.opts.MaxFrameSize) || len(b) == c.br.Size() {
			return true // for the general read path
		}
		if c.g.drained {
			c.g.drained = false
			c.setHotDeadline()
			return false
		}
		c.g.fd = int32(fd)
		_, err := c.br.Peek(len(b) + 1)
		c.g.fd = -1
		switch {
		case err == nil:
		case errors.Is(err, errAgain):
			c.setHotDeadline()
			return false
		default:
			hs.err = readError(err)
			return true
		}
	}
}

// fastPrefix reports whether b is the start of a frame takeFrame would
// take: the hot session reads more of it rather than leave it to gorilla.
func fastPrefix(b []byte, limit int64) bool {
	if len(b) == 0 {
		return true
	}
	if b[0]&0xf0 != 0x80 {
		return false
	}
	if op := int(b[0] & 0x0f); op != websocket.TextMessage && op != websocket.BinaryMessage {
		return false
	}
	if len(b) < 2 {
		return true
	}
	if b[1]&0x80 == 0 {
		return false
	}
	n := int64(b[1] & 0x7f)
	switch n {
	case 127:
		return false
	case 126:
		if len(b) < 4 {
			return true
		}
		n = int64(b[2])<<8 | int64(b[3])
	}
	return n <= maxTake && n <= limit
}
