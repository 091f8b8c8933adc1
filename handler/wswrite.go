package handler

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/seance-go/seance/phx"
)

// Server-to-client frames are written by the handler, not through
// gorilla's writer: every batch of queued frames goes out in one vectored
// write, and the goroutine that queues the first frame for an idle
// connection writes the batch itself when the socket takes it at once (a
// non-blocking write). Only what the socket cannot take yet, or a write on
// a connection without a raw socket (TLS), is handed to a pooled writer
// goroutine, which writes with Options.WriteTimeout.
//
// gorilla still reads, and on a protocol error it writes a close frame
// itself. Those writes go through guardedConn, whose lock the handler's
// own writes hold too, so that frames never interleave.
//
// A client that stops reading, or reads too slowly, is closed with 1008
// once its session's queue overflows or a write times out. Its socket is
// then full, possibly with a frame half written, so the close frame cannot
// simply be written: the queue is dropped, the writer finishes only the
// frame in flight, then writes the close frame, all within
// Options.CloseTimeout, and gives the client the rest of that time to
// receive it (see linger). A client that reads again within that time reads
// the frames already in the socket buffers, then the close frame. One that
// does not has its TCP connection closed without a close frame (1006 for
// a browser).

// WebSocket opcodes of the frames the server writes.
const (
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPong   = 0xA
)

// copyMax is the largest payload copied next to its header into the write
// buffer; larger ones are written from where they are.
const copyMax = 1024

// appendHeader appends the header of an unmasked, final frame.
func appendHeader(b []byte, op byte, n int) []byte {
	b = append(b, 0x80|op)
	switch {
	case n < 126:
		return append(b, byte(n))
	case n <= 0xffff:
		return append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127)
		return binary.BigEndian.AppendUint64(b, uint64(n))
	}
}

// guardedConn is the connection as gorilla sees it: its writes (the
// handshake response, close frames on protocol errors) take the lock the
// handler's writes hold.
//
// It is also what the connection's read buffer reads from (see Read,
// hotread_linux.go), so it holds the state of the reader's hot sessions.
type guardedConn struct {
	net.Conn
	mu *sync.Mutex
	// fd is the socket while a hot session reads it; else -1.
	fd int32
	// drained: the hot session's last read returned less than it asked
	// for, so the socket was empty then. Input after it is an edge the
	// runtime's poller reports, so the session waits for it without first
	// reading (a read that could only fail with EAGAIN).
	drained bool
	// rescue: the poller's sweep took the read side from a callback that
	// runs inside a hot session, which holds the descriptor's read lock
	// until it returns. Meanwhile reads go around the lock, and the reader
	// hands the read side back to the poller after each message instead
	// of waiting itself.
	rescue atomic.Bool
}

func (g *guardedConn) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.Conn.Write(p)
}

var errNoRawConn = errors.New("handler: connection has no raw socket")

// errSlowConsumer stops an inline write once the session was closed for not
// reading.
var errSlowConsumer = errors.New("handler: slow consumer")

// SyscallConn exposes the socket of connections that have one.
func (g *guardedConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := g.Conn.(syscall.Conn)
	if !ok {
		return nil, errNoRawConn
	}
	return sc.SyscallConn()
}

// batch is frames ready to write: headers and small payloads packed into a
// buffer lent by the handler's pool, large payloads referenced.
type batch struct {
	pooled *[]byte     // lent by Options.WriteBufferPool (or the handler's pool)
	buf    []byte      // packing buffer: *pooled, or a larger one after it filled up
	seg    int         // start in buf of the segment being packed
	all    net.Buffers // every segment, for releasing references
	rest   net.Buffers // what is still to write
	iov    []iovec
	ends   []int   // where each frame ends, in bytes from the batch's start
	total  int     // bytes in the batch
	zbuf   *[]byte // compressed payloads of the connection's own frames, lent by the deflater
	// writeFD is b.writevNow bound (Linux; see writeNow) and werr its error.
	writeFD func(fd uintptr)
	werr    error
}

// add appends one frame.
func (b *batch) add(op byte, payload []byte) {
	var hdr [10]byte
	h := appendHeader(hdr[:0], op, len(payload))
	b.total += len(h) + len(payload)
	b.ends = append(b.ends, b.total)
	copyIt := len(payload) <= copyMax
	need := len(h)
	if copyIt {
		need += len(payload)
	}
	if len(b.buf)+need > cap(b.buf) {
		// Full: close the segment and go on in a new buffer (segments
		// already taken must not move).
		b.closeSeg()
		b.buf, b.seg = make([]byte, 0, max(cap(b.buf), need)), 0
	}
	b.buf = append(b.buf, h...)
	if copyIt {
		b.buf = append(b.buf, payload...)
		return
	}
	b.closeSeg()
	b.all = append(b.all, payload)
}

// closeSeg ends the packed segment being built.
func (b *batch) closeSeg() {
	if len(b.buf) > b.seg {
		b.all = append(b.all, b.buf[b.seg:len(b.buf):len(b.buf)])
		b.seg = len(b.buf)
	}
}

// seal finishes the batch before it is written.
func (b *batch) seal() {
	b.closeSeg()
	b.rest = b.all
}

// consume drops the first n written bytes of rest.
func (b *batch) consume(n int) {
	for n > 0 && len(b.rest) > 0 {
		if n < len(b.rest[0]) {
			b.rest[0] = b.rest[0][n:]
			return
		}
		n -= len(b.rest[0])
		b.rest = b.rest[1:]
	}
}

func (b *batch) done() bool { return len(b.rest) == 0 }

// cutAtFrame drops the frames not yet started from rest: what is left to
// write is the end of the frame in flight, if a write stopped inside one,
// so that a close frame may follow it.
func (b *batch) cutAtFrame() {
	left := 0
	for _, s := range b.rest {
		left += len(s)
	}
	written := b.total - left
	i, _ := slices.BinarySearch(b.ends, written+1) // first frame ending after written
	start := 0
	if i > 0 {
		start = b.ends[i-1]
	}
	keep := 0
	if i < len(b.ends) && written > start {
		keep = b.ends[i] - written
	}
	for j, s := range b.rest {
		if keep <= len(s) {
			b.rest[j] = s[:keep]
			b.rest = b.rest[:j+1]
			return
		}
		keep -= len(s)
	}
}

// batches recycles batch structs; the byte buffers come from the
// configured pool.
type batches struct {
	structs sync.Pool
	bufs    BufferPool
	size    int
	deflate *deflater // nil without compression
}

func (p *batches) get() *batch {
	b, _ := p.structs.Get().(*batch)
	if b == nil {
		b = &batch{}
	}
	buf, ok := p.bufs.Get().(*[]byte)
	if !ok || buf == nil || cap(*buf) < p.size {
		nb := make([]byte, 0, p.size)
		buf = &nb
	}
	b.pooled, b.buf, b.seg = buf, (*buf)[:0], 0
	return b
}

func (p *batches) put(b *batch) {
	p.bufs.Put(b.pooled)
	if b.zbuf != nil {
		p.deflate.putBuf(b.zbuf)
		b.zbuf = nil
	}
	clear(b.all)
	b.all, b.rest, b.pooled, b.buf = b.all[:0], nil, nil, nil
	b.ends, b.total = b.ends[:0], 0
	if cap(b.ends) > 64 {
		b.ends = nil
	}
	if cap(b.all) > 64 {
		b.all = nil // a burst's long list is left to the collector
	}
	clear(b.iov)
	p.structs.Put(b)
}

// collect builds a batch of the queued control frames and session frames;
// nil when there are none. ce is the session's close error once it closed
// and its queue is flushed.
func (c *wsConn) collect() (*batch, *phx.CloseError) {
	frames, ce := c.sess.Take()
	var control [][]byte
	if c.hasControl.Load() { // pongs are rare: no lock per batch for them
		c.mu.Lock()
		control = c.control
		c.control = nil
		c.hasControl.Store(false)
		c.mu.Unlock()
	}
	if len(frames) == 0 && len(control) == 0 {
		return nil, ce
	}
	if se := c.sess.Err(); se != nil && se.Code == phx.ClosePolicyViolation {
		// A dropped slow consumer: straight to the close frame.
		return nil, nil
	}
	b := c.h.batches.get()
	for _, p := range control {
		b.add(opPong, p)
	}
	for i := range frames {
		f := &frames[i]
		op := byte(opText)
		if f.Binary {
			op = opBinary
		}
		if c.deflate && len(f.Data) >= c.h.deflate.threshold {
			if z := c.compressed(b, f); z != nil {
				b.add(op|rsv1, z)
				continue
			}
		}
		b.add(op, f.Data)
	}
	b.seal()
	return b, nil
}

// compressed returns the payload of a compressed message carrying f, or
// nil when compressing does not make it smaller. A shared frame's is
// built once for all its connections; a connection's own frames are
// compressed into a buffer the batch holds until written.
func (c *wsConn) compressed(b *batch, f *phx.Frame) []byte {
	d := c.h.deflate
	var z []byte
	if f.Shared != nil {
		z = d.shared(f)
	} else {
		if b.zbuf == nil {
			b.zbuf = d.getBuf()
		}
		start := len(*b.zbuf)
		*b.zbuf = d.compress(*b.zbuf, f.Data)
		z = (*b.zbuf)[start:len(*b.zbuf):len(*b.zbuf)]
		if len(z) >= len(f.Data) {
			*b.zbuf = (*b.zbuf)[:start]
		}
	}
	if len(z) >= len(f.Data) {
		return nil
	}
	return z
}

// flush is the inline path of wake, on the goroutine that queued the
// first frame (a channel callback, a broadcast): it writes what the socket
// takes without blocking and hands anything else to a pooled writer.
func (c *wsConn) flush() {
	for {
		b, ce := c.collect()
		if b == nil {
			if ce != nil || c.sess.Err() != nil {
				c.h.writers.run(c) // the close frame may block: not here
				return
			}
			if c.stopWriting() {
				return
			}
			continue
		}
		c.wmu.Lock()
		var err error
		if c.slowConsumer() {
			// Closed since collect (writeNow does not stop at the
			// write deadline wake set for it): the writer writes none of b,
			// only the close frame.
			err = errSlowConsumer
		} else {
			err = writeNow(c.raw, b)
		}
		if err != nil && !c.slowConsumer() {
			c.wmu.Unlock()
			c.h.batches.put(b)
			c.sess.Close(phx.ErrDisconnected)
			c.finish()
			return
		}
		if err != nil || !b.done() {
			// The socket is full, or the session was closed as a slow
			// consumer: the writer finishes the batch, or the frame in
			// flight and the close frame, still holding the write lock so
			// that nothing interleaves.
			c.pending = b
			c.h.writers.run(c)
			return
		}
		c.wmu.Unlock()
		c.h.batches.put(b)
		// Anything queued since collect took the queue (a frame, a pong,
		// the session's close) called wake, which found this turn running
		// and set again: without it there is nothing to collect.
		if c.stopWriting() {
			return
		}
	}
}

// write is the pooled writer: it finishes a batch flush left, writes what
// the session has queued, then exits; after the session closed it sends
// the close frame and closes the connection.
func (c *wsConn) write() {
	if b := c.pending; b != nil {
		c.pending = nil
		if !c.writeBatch(b, true) { // flush left wmu held
			return
		}
	}
	for {
		b, ce := c.collect()
		if b != nil {
			if !c.writeBatch(b, false) {
				return
			}
			continue
		}
		if ce == nil {
			ce = c.sess.Err()
		}
		if ce != nil {
			if c.writeClose(ce) == nil {
				c.linger()
			}
			c.finish()
			return
		}
		if c.stopWriting() {
			return
		}
	}
}

// stopWriting ends a writing turn unless wake was called during it; it
// reports whether the turn ended.
func (c *wsConn) stopWriting() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.again {
		c.again = false
		return false
	}
	c.writing = false
	return true
}

// writeBatch writes the rest of b, taking the write lock unless held, and
// releases b. After a failed write it ends the connection and reports
// false.
func (c *wsConn) writeBatch(b *batch, held bool) bool {
	if !held {
		c.wmu.Lock()
	}
	err := c.writeBlocking(b)
	c.wmu.Unlock()
	c.h.batches.put(b)
	if err != nil {
		c.sess.Close(phx.ErrDisconnected)
		c.finish()
		return false
	}
	return true
}

// writeBlocking writes the rest of b within Options.WriteTimeout. When
// the client does not keep up (the write times out, or the session was
// closed as a slow consumer, which also interrupts a blocked write: see
// wake), only the frame in flight is finished, within CloseTimeout, so that
// the close frame can follow it.
func (c *wsConn) writeBlocking(b *batch) error {
	c.nc.SetWriteDeadline(time.Now().Add(c.h.opts.WriteTimeout))
	// Checked after setting the deadline: a slow-consumer close that
	// comes later resets the deadline to now (wake), so the write below
	// cannot block past it.
	if !c.slowConsumer() {
		_, err := b.rest.WriteTo(c.nc)
		if err == nil || !isTimeout(err) {
			return err
		}
		// The client took nothing for WriteTimeout: a slow consumer too.
		c.sess.Close(phx.ErrSlowConsumer)
	}
	b.cutAtFrame()
	return c.writeClosing(&b.rest)
}

// slowConsumer reports whether the session was closed for not reading.
func (c *wsConn) slowConsumer() bool {
	ce := c.sess.Err()
	return ce != nil && ce.Code == phx.ClosePolicyViolation
}

// writeClosing writes bufs before the connection's close deadline, set
// CloseTimeout from the first call. A deadline set to now by wake (racing
// with this write) does not cut it short. The caller holds wmu.
func (c *wsConn) writeClosing(bufs *net.Buffers) error {
	if c.closeBy.IsZero() {
		c.closeBy = time.Now().Add(c.h.opts.CloseTimeout)
	}
	for {
		c.nc.SetWriteDeadline(c.closeBy)
		_, err := bufs.WriteTo(c.nc)
		if err == nil || !isTimeout(err) || !time.Now().Before(c.closeBy) {
			return err
		}
	}
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

// writeClose sends the close frame before the close deadline.
func (c *wsConn) writeClose(ce *phx.CloseError) error {
	payload := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(ce.Reason)), uint16(ce.Code))
	payload = append(payload, ce.Reason...)
	if len(payload) > 125 {
		payload = payload[:125] // control frames carry at most 125 bytes
	}
	frame := append(appendHeader(make([]byte, 0, 2+len(payload)), opClose, len(payload)), payload...)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeClosing(&net.Buffers{frame})
}

// maxDrain bounds what linger reads and discards from a client that goes on
// sending after a protocol error.
const maxDrain = 1 << 20

// linger runs after the close frame is written, before the connection is
// closed. Closing a socket that still has unread input resets it, and a
// reset discards what the socket has not delivered yet: the close frame
// itself, for a client that reads slowly (or is merely sending a heartbeat
// at that moment). So the write side is shut down (the client reads the
// close frame, then the end of the stream), and the socket stays open until
// the client has acknowledged everything written, has answered or closed,
// or the close deadline passes. Where the unacknowledged bytes cannot be
// counted (off Linux), it is closed at once, as before. When the reader
// stopped on a protocol error, the client's remaining input is then read
// and discarded until it closes, so that it reads the close frame before
// any reset.
func (c *wsConn) linger() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	for wait := time.Millisecond; ; wait = min(2*wait, lingerPoll) {
		if n, ok := unsent(c.nc); !ok || n == 0 {
			break
		}
		left := time.Until(c.closeBy)
		if left <= 0 {
			return
		}
		t := time.NewTimer(min(wait, left))
		select {
		case <-c.readEnd:
		case <-t.C:
		}
		t.Stop()
		select {
		case <-c.readEnd:
		default:
			continue
		}
		break // the reader saw the client's answer, or its end
	}
	select {
	case <-c.readEnd:
	default:
		return
	}
	var ce *phx.CloseError
	if errors.As(c.readErr, &ce) && ce.Code != phx.CloseGoingAway {
		c.nc.SetReadDeadline(c.closeBy)
		io.Copy(io.Discard, io.LimitReader(c.nc, maxDrain))
	}
}

// lingerPoll is the longest pause between two looks at what the client has
// not acknowledged yet.
const lingerPoll = 50 * time.Millisecond

// queuePong answers a client's ping through the handler's writes.
func (c *wsConn) queuePong(data string) error {
	c.mu.Lock()
	if c.finished || len(c.control) >= maxControl {
		c.mu.Unlock()
		return nil // a client flooding pings gets some of the pongs
	}
	c.control = append(c.control, []byte(data))
	c.hasControl.Store(true)
	c.mu.Unlock()
	c.wake(false)
	return nil
}

// maxControl bounds the pongs waiting to be written.
const maxControl = 16
