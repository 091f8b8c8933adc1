package handler

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/phx"
)

// Options configures a socket mount. Zero fields take the defaults.
type Options struct {
	// Connect is the connect hook; nil accepts every connection.
	Connect ConnectFunc
	// CheckOrigin decides whether a browser's Origin may open the socket.
	// nil allows requests without Origin and those whose Origin host equals
	// the server's host: one of Hosts, or else the request's Host header.
	// Refusal: 403.
	CheckOrigin func(r *http.Request) bool
	// Hosts lists the host names the server answers as ("app.example.com",
	// "localhost"; a port is ignored), for the default origin check, as
	// Phoenix's check_origin compares against the endpoint's configured
	// host. Empty: the request's Host header stands for the server's host,
	// which a DNS-rebinding page (its Origin and Host both the attacker's
	// name, resolving to this server) passes; set Hosts to refuse it.
	// Ignored when CheckOrigin is set.
	Hosts []string
	// IdleTimeout closes a WebSocket (code 1001) when the client sent nothing
	// for that long (default 60s, as Phoenix; phoenix.js heartbeats every 30s).
	// On Linux idle connections are looked at every IdleTimeout/4, so one
	// closes up to a quarter later.
	IdleTimeout time.Duration
	// ParkAfter is how long a connection keeps a reading goroutine after
	// a message, waiting for the next one, before it is parked (default
	// 10ms; negative: parked at once). A parked connection holds no
	// goroutine and is watched by the handler's poller, at the cost of a
	// hand-off and an epoll call per message that wakes it: ParkAfter
	// trades the memory of busy connections for their latency. Linux
	// only (TCP, under TLS or not); elsewhere every connection has a
	// reading goroutine for its life.
	ParkAfter time.Duration
	// MaxFrameSize is the largest inbound frame in bytes (default 1 MiB);
	// larger frames close the connection with 1009.
	MaxFrameSize int64
	// WriteTimeout bounds one write to the client (default 10s); a client
	// that does not read for that long is closed with 1008, as when its
	// queue overflows (phx.Config.QueueLength, QueueBytes).
	WriteTimeout time.Duration
	// CloseTimeout bounds the closing of a connection (default 5s): the end
	// of a frame a slow client left half-read, the close frame, and the wait
	// until the client has received it. A client that has not read the
	// close frame by then has its TCP connection closed without it (a
	// browser reports 1006).
	CloseTimeout time.Duration
	// ReadBufferSize is the size of each connection's read buffer, held for
	// the connection's life (default and minimum 512 bytes; frames larger
	// than it are still read whole). A negative value keeps the HTTP
	// server's 4 KiB buffer.
	ReadBufferSize int
	// WriteBufferSize is the size of the write buffers (default 4 KiB),
	// into which the headers and small payloads of a batch of frames are
	// packed for one write. Unless WriteBufferPool is set, they come from a
	// pool shared by the handler's connections and are held only during
	// that write.
	WriteBufferSize int
	// WriteBufferPool, when set, lends the write buffers (as *[]byte)
	// instead of the handler's own pool; values of other types it returns
	// are ignored.
	WriteBufferPool BufferPool
	// ParamLimits bounds the query string of the upgrade request (its size,
	// parameter count and bracket depth), checked before the connect hook;
	// past them the upgrade is refused with HTTP 414 or 400. Zero fields
	// take the defaults (see [ParamLimits]). The long-poll transport has its
	// own (longpoll.Options.ParamLimits).
	ParamLimits ParamLimits
	// Compression negotiates permessage-deflate (RFC 7692) with the
	// clients that offer it; off by default. See [Compression].
	Compression Compression
	// LongPoll, when set, serves <mount>/longpoll.
	LongPoll http.Handler
	// Logger receives the transport's logs (default: the endpoint's).
	Logger *slog.Logger
}

// BufferPool lends write buffers to connections while they write (a
// *sync.Pool fits). The handler puts and gets *[]byte values.
type BufferPool interface {
	Get() any
	Put(any)
}

const (
	defaultReadBufferSize  = 512
	defaultWriteBufferSize = 4096
	defaultIdleTimeout     = 60 * time.Second
	defaultParkAfter       = 10 * time.Millisecond
	defaultMaxFrameSize    = 1 << 20
	defaultWriteTimeout    = 10 * time.Second
	defaultCloseTimeout    = 5 * time.Second
)

// Handler serves a socket mount: <mount>/websocket and <mount>/longpoll.
type Handler struct {
	opts      Options
	hosts     []string // Options.Hosts, lower case, without ports
	log       *slog.Logger
	connector Connector
	upgrader  websocket.Upgrader
	upgraderZ websocket.Upgrader // upgrader negotiating permessage-deflate
	deflate   *deflater          // nil without Options.Compression
	writers   connPool           // run wsConn.write
	readers   connPool           // run wsConn.readReady
	poll      poller             // watches idle connections (Linux)
	batches   batches
	scratch   sync.Pool // *[]byte read buffers (readAll)
	hots      sync.Pool // *hotSession (Linux)
}

// New returns the http.Handler of a socket mount over the endpoint ep.
func New(ep *phx.Endpoint, opts Options) *Handler {
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = defaultIdleTimeout
	}
	if opts.ParkAfter == 0 {
		opts.ParkAfter = defaultParkAfter
	}
	if opts.MaxFrameSize <= 0 {
		opts.MaxFrameSize = defaultMaxFrameSize
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = defaultWriteTimeout
	}
	if opts.CloseTimeout <= 0 {
		opts.CloseTimeout = defaultCloseTimeout
	}
	switch {
	case opts.ReadBufferSize < 0:
		opts.ReadBufferSize = -1 // keep the HTTP server's reader
	case opts.ReadBufferSize < defaultReadBufferSize:
		// gorilla only adopts a hijacked reader of more than 256 bytes
		opts.ReadBufferSize = defaultReadBufferSize
	}
	if opts.WriteBufferSize <= 0 {
		opts.WriteBufferSize = defaultWriteBufferSize
	}
	pool := opts.WriteBufferPool
	if pool == nil {
		pool = &sync.Pool{}
	}
	log := opts.Logger
	if log == nil {
		log = ep.Logger()
	}
	h := &Handler{opts: opts, log: log, connector: Connector{Endpoint: ep, Connect: opts.Connect, Limits: opts.ParamLimits}}
	for _, host := range opts.Hosts {
		h.hosts = append(h.hosts, strings.ToLower(hostOnly(strings.TrimSpace(host))))
	}
	h.deflate = newDeflater(opts.Compression)
	h.poll.init(opts.IdleTimeout)
	h.batches = batches{bufs: pool, size: opts.WriteBufferSize, deflate: h.deflate}
	h.writers = connPool{handoff: make(chan *wsConn), do: (*wsConn).write}
	h.readers = connPool{handoff: make(chan *wsConn), do: (*wsConn).readReady}
	h.upgrader = websocket.Upgrader{
		// 0: gorilla reads through the reader handed over at the hijack
		// (see hijackWriter), which the connection's reader then watches.
		ReadBufferSize: 0,
		// The handler writes frames itself (see wswrite.go): gorilla
		// never needs a write buffer, so lend it none.
		WriteBufferPool: nopPool{},
		Subprotocols:    []string{"phoenix"},
		// The origin is checked before the upgrade, in ServeHTTP.
		CheckOrigin: func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			refuse(w, status, reason.Error())
		},
	}
	h.upgraderZ = h.upgrader
	h.upgraderZ.EnableCompression = true
	return h
}

// ServeHTTP routes on the path suffix: …/websocket and …/longpoll.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case strings.HasSuffix(path, "/websocket") || path == "websocket":
		h.serveWebSocket(w, r)
	case (strings.HasSuffix(path, "/longpoll") || path == "longpoll") && h.opts.LongPoll != nil:
		h.opts.LongPoll.ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

// checkOrigin applies Options.CheckOrigin or the same-host default, with
// Options.Hosts as the server's host names when set.
func (h *Handler) checkOrigin(r *http.Request) bool {
	if h.opts.CheckOrigin != nil {
		return h.opts.CheckOrigin(r)
	}
	if len(h.hosts) == 0 {
		return SameHost(r)
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	oh, ok := originHost(origin)
	return ok && slices.Contains(h.hosts, strings.ToLower(oh))
}

// SameHost allows requests without an Origin header and those whose Origin
// host (port ignored, as Phoenix) equals the request's host. The Host header
// comes from the client: see Options.Hosts for DNS rebinding.
func SameHost(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	oh, ok := originHost(origin)
	if !ok {
		return false
	}
	return strings.EqualFold(oh, hostOnly(r.Host))
}

func (h *Handler) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		refuse(w, http.StatusBadRequest, "method not allowed")
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		refuse(w, http.StatusBadRequest, "expected a WebSocket upgrade")
		return
	}
	if !h.checkOrigin(r) {
		h.log.Info("handler: origin refused", "transport", "websocket", "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
		refuse(w, http.StatusForbidden, "")
		return
	}
	protocols := subprotocols(r)
	token, rest, _ := AuthTokenFromProtocols(protocols)
	if len(protocols) > 0 && !contains(rest, "phoenix") {
		refuse(w, http.StatusForbidden, "")
		return
	}
	if err := h.connector.CheckQuery(r); err != nil {
		// The limits' reasons are ours and safe to show; a connect hook's
		// refusal below stays a bare status.
		he := err.(*HTTPError)
		h.log.Info("handler: connection refused", "transport", "websocket", "status", he.Status, "error", err, "remote", r.RemoteAddr)
		refuse(w, he.Status, he.Reason)
		return
	}
	sess, status, err := h.connector.Open(r, "websocket", token, true)
	if err != nil {
		h.log.Info("handler: connection refused", "transport", "websocket", "status", status, "error", err, "remote", r.RemoteAddr)
		refuse(w, status, "")
		return
	}
	wmu := new(sync.Mutex)
	var hw *hijackWriter
	if _, ok := w.(http.Hijacker); ok {
		hw = &hijackWriter{ResponseWriter: w, size: h.opts.ReadBufferSize, mu: wmu}
		w = hw
	}
	upgrader := &h.upgrader
	compress := h.deflate != nil && deflateOffer(r.Header)
	if compress {
		upgrader = &h.upgraderZ
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		sess.Detach()
		return
	}
	// Serve the connection on a goroutine of its own and return, so that
	// neither the request nor the HTTP server's goroutine (and its grown
	// stack) stays alive for the connection's life.
	c := &wsConn{h: h, conn: conn, nc: conn.NetConn(), wmu: wmu, sess: sess, deflate: compress, done: make(chan struct{}), readEnd: make(chan struct{})}
	if hw != nil && hw.nc != nil {
		c.nc = hw.nc
		if hw.br != nil {
			c.setIdleWait(hw.br)
			if c.raw != nil && !c.tls && plainSocket(hw.nc) {
				c.g = hw.g
			}
		}
	}
	conn.SetReadLimit(h.opts.MaxFrameSize)
	conn.EnableWriteCompression(false) // gorilla writes only control frames
	conn.SetPingHandler(c.queuePong)
	// A client's close frame ends the read with an error; the session's
	// close frame answers it.
	conn.SetCloseHandler(func(int, string) error { return nil })
	sess.SetNotify(c.wake)
	if c.raw != nil {
		c.readAt = time.Now()
		c.lastRead.Store(h.poll.clock(c.readAt))
		conn.SetReadDeadline(c.readAt.Add(h.opts.IdleTimeout))
		if h.poll.add(c) {
			return
		}
		// Not polled: read on a goroutine of its own.
	}
	go c.run()
}

// refuse answers a WebSocket upgrade that is not served, with
// "Connection: close": the HTTP server then closes the connection after the
// response. A client that asked for an upgrade does not send another
// request on it, and under an http.Server without IdleTimeout the
// connection would otherwise stay open for good. An empty msg sends no
// body.
func refuse(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Connection", "close")
	if msg == "" {
		w.WriteHeader(status)
		return
	}
	http.Error(w, msg, status)
}

// readable is the poller's notification: c's socket has input (or an end
// or error) to read. The first of it, the poller's idle sweep and the
// writer's close to take the idle read side hands it to a pooled reader.
func (c *wsConn) readable() {
	c.mu.Lock()
	own := c.rIdle
	c.rIdle = false
	c.mu.Unlock()
	if own {
		c.h.readers.run(c)
	}
}

// expire is the poller's sweep: it ends c if its read side is idle and
// nothing was read since before (the poller's clock), or its socket was
// closed. While a reader is busy, the read deadline and the read's error
// do instead. A callback that has held the read side since before
// lentBefore has it taken back: the poller watches the socket again.
func (c *wsConn) expire(before, lentBefore int64) {
	if v := c.lent.Load(); v != 0 && v>>1 <= lentBefore {
		// A callback has held the read side since before the previous
		// sweep: the poller reads the socket's next messages meanwhile.
		// One in a hot session holds the descriptor's read lock until it
		// returns, which then ends the rescue (see guardedConn.rescue).
		hot := v&lentHot != 0
		if hot {
			c.g.rescue.Store(true)
		}
		if !c.lent.CompareAndSwap(v, 0) {
			if hot {
				c.g.rescue.Store(false) // it returned meanwhile
			}
			return
		}
		if !c.rest() {
			c.waitErr = phx.ErrDisconnected
			c.h.readers.run(c)
		}
		return
	}
	idle := c.lastRead.Load() <= before
	closed := !idle && c.raw.Control(func(uintptr) {}) != nil
	if !idle && !closed {
		return
	}
	c.mu.Lock()
	own := c.rIdle
	c.rIdle = false
	c.mu.Unlock()
	if !own {
		return
	}
	c.waitErr = phx.IdleTimeout()
	if closed {
		c.waitErr = phx.ErrDisconnected
	}
	c.h.readers.run(c)
}

// readReady runs on a pooled reader, once the read side is its own: it
// reads and handles messages until the connection has been silent for
// Options.ParkAfter, then parks it with the poller, or ends it. Between
// messages it waits on the runtime's poller, as a goroutine per connection
// would: a client that answers quickly (a request, its reply, the next
// request) is served with no hand-off and no epoll call.
//
// A client event that its channel left to run inline
// (phx.Session.ReceiveInline) runs here too, so its reply is written by
// this goroutine without another hand-off. The read side is lent to the
// callback meanwhile: a callback still running at the poller's next sweep
// but one (a quarter of IdleTimeout, at most 250ms, twice) has the read
// side taken back by the sweep, so a slow callback holds up heartbeats and
// the socket's other channels for that long at most. When input is
// already buffered, another pooled reader takes it at once instead. With
// a negative ParkAfter the read side goes back to the poller before the
// callback runs. Over plain TCP the wait between messages is a hot session
// (hotread_linux.go), which reads and handles messages itself.
func (c *wsConn) readReady() {
	err := c.waitErr
	c.waitErr = nil
	for err == nil {
		var w phx.Inline
		w, err = c.readOne()
		switch {
		case err != nil:
			continue
		case c.buffered():
			if w.Pending() {
				c.h.readers.run(c) // the rest is read by another
				w.Run()
				return
			}
			continue
		case c.h.opts.ParkAfter < 0:
			if !w.Pending() {
				break
			}
			if !c.rest() { // the writer closed the connection meanwhile
				w.Run()
				err = phx.ErrDisconnected
				continue
			}
			w.Run()
			return
		case w.Pending():
			// The read side is lent to the callback: the poller's sweep
			// takes it back if the callback runs long (see expire).
			lent := (c.h.poll.clock(c.readAt) + 1) << 1
			c.lent.Store(lent)
			w.Run()
			if !c.lent.CompareAndSwap(lent, 0) {
				return // the sweep took it
			}
		}
		if c.g != nil && c.g.rescue.Load() {
			// A callback taken over by the sweep still runs in a hot
			// session, holding the read lock: wait with the poller.
			if c.rest() {
				return
			}
			err = phx.ErrDisconnected
			continue
		}
		var more, gone bool
		if more, gone, err = c.await(); gone {
			return
		}
		if more || err != nil {
			continue
		}
		if c.rest() {
			return
		}
		err = phx.ErrDisconnected
	}
	c.end(err)
}

// buffered reports whether input is already read from the socket: in the
// read buffer or, over TLS, in crypto/tls's buffers, which a read that may
// not wait (its deadline passed) moves into the read buffer. An error of
// that read other than the deadline's counts as input: the next read
// returns it.
func (c *wsConn) buffered() bool {
	if c.br.Buffered() > 0 {
		return true
	}
	if !c.tls {
		return false
	}
	c.nc.SetReadDeadline(aLongTimeAgo)
	c.hotUntil = 0 // await sets its deadline again
	_, err := c.br.Peek(1)
	return err == nil || !isTimeout(err)
}

// lentHot marks wsConn.lent as held by a callback inside a hot session.
const lentHot = 1

// aLongTimeAgo is a read deadline that has passed.
var aLongTimeAgo = time.Unix(1, 0)

// await waits on the runtime's poller for the next message, until
// Options.ParkAfter after the last one was read; it reports whether input
// arrived, or the error that ends the connection.
func (c *wsConn) await() (more, gone bool, err error) {
	park := c.h.opts.ParkAfter
	if park < 0 {
		return false, false, nil
	}
	if c.g != nil {
		return c.hot()
	}
	c.setHotDeadline()
	_, err = c.br.Peek(1)
	switch {
	case err == nil:
		return true, false, nil
	case isTimeout(err):
		return false, false, nil
	}
	return false, false, readError(err)
}

// setHotDeadline sets the read deadline of the wait for the next message
// to ParkAfter after the last one. It is moved once per half ParkAfter at
// most, not once per message: a busy connection waits until a little later
// than ParkAfter, never less.
func (c *wsConn) setHotDeadline() {
	park := c.h.opts.ParkAfter
	if at := c.h.poll.clock(c.readAt); c.hotUntil == 0 || c.hotUntil-at < int64(park/2) {
		c.nc.SetReadDeadline(c.readAt.Add(park))
		c.hotUntil = at + int64(park)
	}
}

// rest leaves the read side to the poller until more input arrives. It
// reports false, keeping the read side, when the connection is closed.
func (c *wsConn) rest() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished || c.arm() != nil {
		return false
	}
	c.lastRead.Store(c.h.poll.clock(c.readAt))
	c.rIdle = true
	return true
}

// hijackWriter hands gorilla a buffered reader of the configured size at the
// hijack and remembers it, so that the connection's reader knows whether
// bytes are already buffered before it waits on the socket; gorilla gets the
// connection wrapped in a guardedConn.
type hijackWriter struct {
	http.ResponseWriter
	size int           // of the reader to use; -1 keeps the server's
	mu   *sync.Mutex   // the connection's write lock
	br   *bufio.Reader // the connection's reader, once hijacked
	g    *guardedConn  // what gorilla is given, which br reads from
	nc   net.Conn      // the hijacked connection itself
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := w.ResponseWriter.(http.Hijacker).Hijack()
	if err != nil || brw.Reader.Buffered() > 0 {
		return conn, brw, err // gorilla refuses data sent before the handshake
	}
	if w.size > 0 {
		brw = bufio.NewReadWriter(bufio.NewReaderSize(conn, w.size), brw.Writer)
	}
	w.br, w.nc = brw.Reader, conn
	// gorilla resets the reader onto the connection it is given: the
	// buffer reads through the guardedConn (see its Read).
	w.g = &guardedConn{Conn: conn, mu: w.mu, fd: -1}
	return w.g, brw, nil
}

// nopPool is the write buffer pool gorilla is given: it never writes a
// message, so it never asks.
type nopPool struct{}

func (nopPool) Get() any { return nil }
func (nopPool) Put(any)  {}

// wsConn is one WebSocket connection: a reading goroutine for its life and
// a writing goroutine only while frames wait to be written that the socket
// could not take at once.
type wsConn struct {
	h    *Handler
	conn *websocket.Conn
	nc   net.Conn    // the connection the handler writes to
	wmu  *sync.Mutex // held while writing to nc (see guardedConn)
	sess *phx.Session
	done chan struct{} // closed when the writer has closed the connection

	deflate bool // permessage-deflate was negotiated

	readEnd chan struct{} // closed when the reader has stopped, after readErr is set
	readErr error         // why the reader stopped
	closeBy time.Time     // the close deadline, once closing (writer only, wmu held)

	// Idle wait (Linux, see poller_linux.go): while idle, the connection
	// holds no goroutine; the handler's poller watches its socket, and
	// reading and handling the messages runs on a pooled reader. nil raw:
	// the connection's own goroutine reads.
	br  *bufio.Reader
	raw syscall.RawConn // the socket (under TLS: the TCP connection's)
	// tls: the socket carries TLS. Writes go through crypto/tls (the
	// pooled writers), and the records crypto/tls has read but not yet
	// returned are looked at before the socket is left to the poller
	// (buffered): its readiness tells only of bytes still in the kernel.
	tls bool
	// g: br reads a plain socket, through g, which the reader's hot
	// sessions read directly (see hotread_linux.go); nil otherwise.
	g        *guardedConn
	pollID   uint64       // the connection's id in the poller; 0: not polled
	pollFD   int          // the poller's epoll instance
	readAt   time.Time    // when the reader last read a message (reader only)
	hotUntil int64        // await's read deadline on the poller's clock; 0: the deadline is a message's (reader only)
	lent     atomic.Int64 // while a callback has the read side: 1 + the poller's clock when it was read, shifted left by one, | lentHot in a hot session; else 0
	lastRead atomic.Int64 // readAt on the poller's clock, as of the last rest
	waitErr  error        // why the read side was handed over, for readReady

	mu       sync.Mutex
	writing  bool     // a writing turn is on (inline or on a pooled writer)
	again    bool     // woken while writing: look at the queue once more
	finished bool     // the connection is closed: no writer starts again
	rIdle    bool     // no reader has the read side: the poller, its idle sweep or finish may take it
	control  [][]byte // pongs to send
	// hasControl: control is not empty (set and cleared with mu held), so
	// that a batch without pongs takes no lock to look.
	hasControl atomic.Bool

	pending *batch // left by flush for the writer, with wmu held
}

// run reads until the connection ends, then waits for the writer to send
// the close frame and detaches the session.
func (c *wsConn) run() {
	var err error
	for err == nil {
		c.conn.SetReadDeadline(time.Now().Add(c.h.opts.IdleTimeout))
		var w phx.Inline
		w, err = c.readOne()
		// This goroutine is the only reader: hand the event's work to the
		// endpoint's workers rather than stop reading while it runs.
		w.Go()
	}
	c.end(err)
}

// end closes the session with the reason the reading ended for, waits for
// the writer to send the close frame and close the connection, and
// detaches the session.
func (c *wsConn) end(reason error) {
	defer c.sess.Detach()
	if c.pollID != 0 {
		c.h.poll.remove(c)
	}
	c.readErr = reason
	close(c.readEnd)
	c.sess.Close(reason) // wakes the writer, which closes the connection
	<-c.done
}

// wake is the session's notification: frames are queued or it closed.
// The first frame of an idle connection is written at once by the
// goroutine that queued it, when the socket takes it (see flush), unless
// that goroutine is delivering a broadcast to many connections: pooled
// writers then share the writes out over the cores.
func (c *wsConn) wake(broadcast bool) {
	if ce := c.sess.Err(); ce != nil && ce.Code == phx.ClosePolicyViolation {
		// A slow consumer's queue is dropped at once; do not let the
		// writer sit in a blocked write until WriteTimeout either: it goes
		// on to finish the frame in flight and write the close frame
		// (writeBlocking).
		c.nc.SetWriteDeadline(time.Now())
	}
	c.mu.Lock()
	switch {
	case c.finished:
	case c.writing:
		c.again = true
	default:
		c.writing = true
		c.mu.Unlock()
		if c.raw != nil && !c.tls && !broadcast {
			c.flush()
		} else {
			c.h.writers.run(c)
		}
		return
	}
	c.mu.Unlock()
}

// poolIdle is how long a pooled goroutine waits (at least, at most twice
// that) for another connection to serve before it exits.
const poolIdle = 100 * time.Millisecond

// connPool runs work for connections (writing queued frames, reading
// messages that arrived) on reused goroutines, whose stacks have already
// grown to what the work needs: a connection is handed to an idle goroutine,
// or a new one starts, so a client that does not read (or a slow channel
// callback) never delays the others. Idle connections hold none.
type connPool struct {
	handoff chan *wsConn // unbuffered: a send succeeds only to a waiting goroutine
	do      func(*wsConn)
}

// run does p's work for c on an idle goroutine or a new one, without
// blocking.
func (p *connPool) run(c *wsConn) {
	select {
	case p.handoff <- c:
	default:
		go p.work(c)
	}
}

func (p *connPool) work(c *wsConn) {
	// The timer is not reset after every piece of work (a timer update per
	// event): it fires every poolIdle, and the goroutine exits at the first
	// tick that finds it has done nothing since the previous one, so
	// between poolIdle and twice that after its last work.
	t := time.NewTimer(poolIdle)
	defer t.Stop()
	for {
		p.do(c)
		c = nil
		worked := true
		for c == nil {
			select {
			case c = <-p.handoff:
			case <-t.C:
				if !worked {
					return
				}
				worked = false
				t.Reset(poolIdle)
			}
		}
	}
}

// finish closes the connection (which ends the reader) and marks the writer
// done for good.
func (c *wsConn) finish() {
	c.conn.Close()
	c.mu.Lock()
	c.finished = true
	c.writing = false
	own := c.rIdle
	c.rIdle = false
	c.mu.Unlock()
	close(c.done)
	if own { // no reader: end it here, where nothing is held
		c.waitErr = phx.ErrDisconnected
		c.h.readers.run(c)
	}
}

// readOne reads and handles one message, returning the work its channel
// left to run inline. Its error is the reason to close the session with.
func (c *wsConn) readOne() (phx.Inline, error) {
	kind, data, err := c.read()
	if err != nil {
		return phx.Inline{}, readError(err)
	}
	w, err := c.sess.ReceiveInline(data, kind == websocket.BinaryMessage)
	if err != nil {
		c.sess.Logger().Info("handler: closing connection", "error", err)
		return w, err
	}
	if c.raw != nil {
		c.readAt = time.Now()
	}
	return w, nil
}

// read reads one message; a compressed one is bounded by MaxFrameSize
// once inflated too.
func (c *wsConn) read() (int, []byte, error) {
	if c.br != nil {
		if kind, data, ok := takeFrame(c.br, c.h.opts.MaxFrameSize); ok {
			return kind, data, nil
		}
	}
	if c.raw != nil && !wholeMessage(c.br) {
		// A message not yet all buffered is read within IdleTimeout
		// (await's deadline is for the wait before it).
		c.nc.SetReadDeadline(time.Now().Add(c.h.opts.IdleTimeout))
		c.hotUntil = 0
	}
	kind, r, err := c.conn.NextReader()
	if err != nil {
		return kind, nil, err
	}
	if !c.deflate {
		data, err := c.h.readAll(r)
		return kind, data, err
	}
	data, err := readLimited(r, c.h.opts.MaxFrameSize)
	var ce flate.CorruptInputError
	if errors.As(err, &ce) {
		err = &phx.CloseError{Code: phx.CloseInvalidData, Reason: "invalid compressed data"}
	}
	return kind, data, err
}

// readAll reads the rest of a message into a buffer lent by the handler's
// pool and returns a copy of its exact size (io.ReadAll, which gorilla's
// ReadMessage uses, starts every message, however small, with 512 bytes).
// A message larger than maxScratch keeps the buffer it was read into.
func (h *Handler) readAll(r io.Reader) ([]byte, error) {
	bp, _ := h.scratch.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 0, 1024)
		bp = &b
	}
	b := (*bp)[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == nil {
			continue
		}
		if err == io.EOF {
			err = nil
		}
		if cap(b) > maxScratch {
			return b, err
		}
		out := bytes.Clone(b)
		*bp = b[:0]
		h.scratch.Put(bp)
		return out, err
	}
}

// wholeMessage reports whether br holds a whole message: its frames up to
// the final one of a data message, with any control frames between.
func wholeMessage(br *bufio.Reader) bool {
	b, _ := br.Peek(br.Buffered())
	for {
		end, fin, op, ok := frameEnd(b)
		if !ok {
			return false
		}
		b = b[end:]
		if fin && op < 8 {
			return true
		}
	}
}

// frameEnd returns the length of the frame at the start of b (header,
// mask and payload), its FIN bit and its opcode; ok is false when b does
// not hold all of it.
func frameEnd(b []byte) (end int, fin bool, op byte, ok bool) {
	if len(b) < 2 {
		return 0, false, 0, false
	}
	fin, op = b[0]&0x80 != 0, b[0]&0x0f
	n, hdr := uint64(b[1]&0x7f), 2
	switch n {
	case 126:
		if len(b) < 4 {
			return 0, false, 0, false
		}
		n, hdr = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return 0, false, 0, false
		}
		n, hdr = binary.BigEndian.Uint64(b[2:]), 10
	}
	if b[1]&0x80 != 0 {
		hdr += 4 // the mask
	}
	if len(b) < hdr || uint64(len(b)-hdr) < n {
		return 0, false, 0, false
	}
	return hdr + int(n), fin, op, true
}

// takeFrame reads the next message without gorilla when it is the common
// case: one final, masked, uncompressed text or binary frame of at most
// min(limit, maxTake) bytes, all of it in br. The payload is unmasked into
// a slice of its exact size. Anything else (a control frame, a fragment, a
// compressed or oversized or malformed frame, a frame not yet all buffered)
// is left in br for gorilla, which handles or refuses it as before; gorilla
// keeps no state from one message to the next that this skips (NextReader
// resets it).
func takeFrame(br *bufio.Reader, limit int64) (int, []byte, bool) {
	b, _ := br.Peek(br.Buffered())
	if len(b) < 6 || b[0]&0xf0 != 0x80 || b[1]&0x80 == 0 {
		return 0, nil, false // short, not final, RSV bits set, or unmasked
	}
	op := int(b[0] & 0x0f)
	if op != websocket.TextMessage && op != websocket.BinaryMessage {
		return 0, nil, false
	}
	n, hdr := int64(b[1]&0x7f), 2
	if n == 126 {
		if len(b) < 8 {
			return 0, nil, false
		}
		n, hdr = int64(binary.BigEndian.Uint16(b[2:])), 4
	} else if n == 127 {
		return 0, nil, false // over maxTake
	}
	if n > maxTake || n > limit || int64(len(b)-hdr-4) < n {
		return 0, nil, false
	}
	key := b[hdr : hdr+4]
	data := make([]byte, n)
	copy(data, b[hdr+4:])
	unmask(key, data)
	br.Discard(hdr + 4 + int(n))
	return op, data, true
}

// maxTake is the largest message takeFrame reads.
const maxTake = 16 << 10

// unmask XORs b with the client's masking key, eight bytes at a time.
func unmask(key, b []byte) {
	k4 := binary.LittleEndian.Uint32(key)
	k8 := uint64(k4) | uint64(k4)<<32
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^k8)
	}
	for ; i < len(b); i++ {
		b[i] ^= key[i&3]
	}
}

// maxScratch is the largest read buffer returned to the handler's pool.
const maxScratch = 64 << 10

// readError maps a read error to the session's close reason.
func readError(err error) error {
	var ne interface{ Timeout() bool }
	var ce *phx.CloseError
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.Is(err, websocket.ErrReadLimit):
		return &phx.CloseError{Code: phx.CloseTooBig, Reason: "frame too large"}
	case errors.As(err, &ne) && ne.Timeout():
		return phx.IdleTimeout()
	}
	return phx.ErrDisconnected
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
