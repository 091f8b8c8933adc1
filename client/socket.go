package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

type socketState int

const (
	sockIdle       socketState = iota // not connected, nothing scheduled
	sockConnecting                    // a dial is in progress
	sockOpen                          // a connection is open
	sockWaiting                       // waiting for a reconnect decision or timer
)

// Socket is a connection to a Phoenix Channels server that reconnects by
// itself and multiplexes channels. Create one with Dial (blocking) or
// NewSocket and Connect (background); all methods are safe for concurrent
// use. Close it when done: it leaves no goroutine behind.
type Socket struct {
	base       *url.URL
	opts       Options
	log        *slog.Logger
	handler    Handler
	codec      codec
	httpClient *http.Client
	ownedHTTP  *http.Transport // closed on Close when we created it

	ctx       context.Context // canceled by Close
	cancel    context.CancelFunc
	cmds      chan func()
	wg        sync.WaitGroup // the loop and dial goroutines
	loopDone  chan struct{}
	disp      *dispatcher
	closeOnce sync.Once
	connected atomic.Bool

	// Owned by the loop goroutine.
	state          socketState
	gen            uint64 // connection generation
	conn           conn
	outbox         []outFrame
	refN           uint64
	channels       []*Channel
	pending        map[string]*pushReq
	hbRef          string
	hbTimer        *time.Timer
	reconnectTries int
	reconnectTimer *time.Timer
	dialWait       chan error // set by Dial for the first attempt
}

// NewSocket returns a Socket for the endpoint rawURL, the path the server
// mounts its socket on (e.g. "ws://localhost:4000/socket"; http and https
// are accepted too). "/websocket" or "/longpoll" is appended like
// phoenix.js. It does not connect: call Connect, or use Dial.
func NewSocket(rawURL string, opts *Options) (*Socket, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("client: bad endpoint: %w", err)
	}
	switch u.Scheme {
	case "ws", "wss", "http", "https":
	default:
		return nil, fmt.Errorf("client: endpoint scheme %q is not ws, wss, http or https", u.Scheme)
	}
	o := opts.withDefaults()
	s := &Socket{
		base:     u,
		opts:     o,
		log:      o.Logger,
		handler:  o.Handler,
		codec:    o.codec(),
		cmds:     make(chan func()),
		loopDone: make(chan struct{}),
		pending:  make(map[string]*pushReq),
	}
	s.httpClient = o.HTTPClient
	if s.httpClient == nil && o.Transport == LongPoll {
		// Only long-poll makes HTTP requests: a WebSocket Socket does not
		// pay for an http.Transport of its own.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if o.TLSConfig != nil {
			tr.TLSClientConfig = o.TLSConfig.Clone()
		}
		s.ownedHTTP = tr
		s.httpClient = &http.Client{Transport: tr}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.disp = newDispatcher(s.ctx.Done())
	s.wg.Add(1)
	go s.loop()
	return s, nil
}

// Dial creates a Socket and waits until its first connection is open. If
// that attempt fails, Dial returns the error (for example a
// *HandshakeError) and no Socket; later disconnects are retried in the
// background.
func Dial(ctx context.Context, rawURL string, opts *Options) (*Socket, error) {
	s, err := NewSocket(rawURL, opts)
	if err != nil {
		return nil, err
	}
	w := make(chan error, 1)
	if err := s.exec(func() {
		s.dialWait = w
		s.connect()
	}); err != nil {
		return nil, err
	}
	select {
	case err = <-w:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Connect starts connecting in the background, or connects at once when a
// reconnect is scheduled. It does nothing while connecting or connected.
func (s *Socket) Connect() error {
	return s.exec(func() {
		switch s.state {
		case sockIdle:
			s.connect()
		case sockWaiting:
			if s.reconnectTimer != nil {
				s.reconnectTimer.Stop()
				s.reconnectTimer = nil
			}
			s.connect()
		}
	})
}

// Connected reports whether a connection is open right now.
func (s *Socket) Connected() bool { return s.connected.Load() }

// Close disconnects, closes every channel with ErrClosed, fails waiting
// calls with ErrClosed and waits until every goroutine of the Socket has
// exited (when called from a callback, all but the callback's own).
func (s *Socket) Close() error {
	s.closeOnce.Do(s.cancel)
	s.wg.Wait()
	s.disp.close()
	if s.ownedHTTP != nil {
		s.ownedHTTP.CloseIdleConnections()
	}
	return nil
}

// exec hands fn to the loop goroutine without waiting for it to run.
func (s *Socket) exec(fn func()) error {
	select {
	case s.cmds <- fn:
		return nil
	case <-s.ctx.Done():
		return ErrClosed
	}
}

// do runs fn on the loop goroutine and waits until it has run.
func (s *Socket) do(fn func()) error {
	ran := make(chan struct{})
	if err := s.exec(func() { fn(); close(ran) }); err != nil {
		return err
	}
	<-ran
	return nil
}

// post is exec for internal goroutines that must also give up when their
// own stop channel closes.
func (s *Socket) post(stop <-chan struct{}, fn func()) bool {
	select {
	case s.cmds <- fn:
		return true
	case <-stop:
		return false
	case <-s.ctx.Done():
		return false
	}
}

// afterFunc runs fn on the loop goroutine after d.
func (s *Socket) afterFunc(d time.Duration, fn func()) *time.Timer {
	return time.AfterFunc(d, func() { s.post(nil, fn) })
}

func (s *Socket) loop() {
	defer s.wg.Done()
	defer close(s.loopDone)
	for {
		select {
		case fn := <-s.cmds:
			fn()
			s.flush()
		case <-s.ctx.Done():
			s.shutdown()
			return
		}
	}
}

// shutdown runs on the loop when the Socket is closed.
func (s *Socket) shutdown() {
	stopTimer(&s.hbTimer)
	stopTimer(&s.reconnectTimer)
	if s.conn != nil {
		s.conn.close()
		s.conn = nil
	}
	s.connected.Store(false)
	for _, p := range s.pending {
		p.stopTimer()
	}
	for _, ch := range append([]*Channel(nil), s.channels...) {
		s.closeChannel(ch, ErrClosed)
	}
	if s.dialWait != nil {
		s.dialWait <- ErrClosed
		s.dialWait = nil
	}
}

func stopTimer(t **time.Timer) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
}

func (s *Socket) makeRef() string {
	s.refN++
	return strconv.FormatUint(s.refN, 10)
}

// write encodes f and queues it; the loop hands the queue to the transport
// after each command, so frames produced together go out together.
func (s *Socket) write(f *frame) {
	if s.conn == nil {
		return
	}
	data, bin, err := s.codec.encode(f)
	if err != nil {
		s.log.Warn("phoenix client: cannot encode frame", "topic", f.topic, "event", f.event, "err", err)
		return
	}
	s.outbox = append(s.outbox, outFrame{data: data, binary: bin})
}

func (s *Socket) flush() {
	if len(s.outbox) == 0 {
		return
	}
	if s.conn != nil {
		s.conn.send(s.outbox)
	}
	s.outbox = nil
}

// emit queues a Handler callback, if there is a Handler.
func (s *Socket) emit(fn func(h Handler)) {
	if h := s.handler; h != nil {
		s.disp.enqueue(func() { fn(h) })
	}
}

// connect starts a connection attempt.
func (s *Socket) connect() {
	s.gen++
	gen := s.gen
	s.state = sockConnecting
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		cfg := &dialConfig{
			header:      s.opts.Header,
			authToken:   s.opts.authToken(),
			codec:       s.codec,
			log:         s.log,
			httpClient:  s.httpClient,
			opts:        &s.opts,
			pollTimeout: s.opts.LongPollTimeout,
			sink:        sink{s: s, gen: gen},
		}
		cfg.url = transportURL(s.base, s.opts.Transport, s.opts.params(), s.opts.Vsn)
		ctx, cancel := context.WithTimeout(s.ctx, s.opts.ConnectTimeout)
		defer cancel()
		s.log.Debug("phoenix client: connecting", "url", cfg.url)
		c, err := dialTransport(ctx, cfg)
		if !s.post(nil, func() { s.onDial(gen, c, err) }) && c != nil {
			c.close()
		}
	}()
}

func (s *Socket) onDial(gen uint64, c conn, err error) {
	if gen != s.gen || s.state != sockConnecting {
		if c != nil {
			c.close()
		}
		return
	}
	if err != nil {
		s.log.Debug("phoenix client: connect failed", "err", err)
		if w := s.dialWait; w != nil {
			s.dialWait = nil
			s.state = sockIdle
			w <- err
			return
		}
		s.disconnected(err)
		return
	}
	s.log.Debug("phoenix client: connected")
	s.conn = c
	s.state = sockOpen
	s.connected.Store(true)
	s.reconnectTries = 0
	s.hbRef = ""
	if c.heartbeats() && s.opts.HeartbeatInterval > 0 {
		s.scheduleHeartbeat()
	}
	if w := s.dialWait; w != nil {
		s.dialWait = nil
		w <- nil
	}
	s.emit(func(h Handler) { h.Connected(s) })
	for _, ch := range append([]*Channel(nil), s.channels...) {
		if ch.state == chErrored && !ch.awaiting {
			stopTimer(&ch.rejoinTimer)
			ch.rejoinTries = 0
			s.sendJoin(ch)
		}
	}
}

func (s *Socket) onConnDown(gen uint64, err error) {
	if gen != s.gen || s.state != sockOpen {
		return
	}
	s.log.Debug("phoenix client: connection lost", "err", err)
	s.dropConn(err)
}

// dropConn closes the current connection, marks channels errored and asks
// for a reconnect decision.
func (s *Socket) dropConn(err error) {
	s.outbox = nil
	if s.conn != nil {
		s.conn.close()
		s.conn = nil
	}
	s.connected.Store(false)
	stopTimer(&s.hbTimer)
	s.hbRef = ""
	for ref, p := range s.pending {
		switch p.kind {
		case pushEvent:
			delete(s.pending, ref)
			s.resolve(p, nil, ErrDisconnected)
		case pushJoin:
			delete(s.pending, ref)
			p.stopTimer()
		}
	}
	for _, ch := range append([]*Channel(nil), s.channels...) {
		switch ch.state {
		case chJoined, chJoining:
			ch.state = chErrored
			ch.joinPush = nil
			ch.setJoinRef("")
		case chLeaving:
			s.finishLeave(ch, nil)
		}
	}
	s.disconnected(err)
}

// disconnected asks the Handler (or BaseHandler) whether to reconnect.
func (s *Socket) disconnected(err error) {
	s.state = sockWaiting
	gen := s.gen
	if s.handler == nil {
		s.applyReconnect(gen, BaseHandler{}.Disconnected(s, err))
		return
	}
	h := s.handler
	s.disp.enqueue(func() {
		d := h.Disconnected(s, err)
		s.post(nil, func() { s.applyReconnect(gen, d) })
	})
}

func (s *Socket) applyReconnect(gen uint64, d Decision) {
	if gen != s.gen || s.state != sockWaiting {
		return
	}
	if d.Stop {
		s.state = sockIdle
		return
	}
	delay := d.Delay
	if delay <= 0 {
		s.reconnectTries++
		delay = s.opts.ReconnectAfter(s.reconnectTries)
	}
	stopTimer(&s.reconnectTimer)
	s.reconnectTimer = s.afterFunc(delay, func() {
		if gen == s.gen && s.state == sockWaiting {
			s.reconnectTimer = nil
			s.connect()
		}
	})
}

func (s *Socket) onFrame(gen uint64, f *frame) {
	if gen != s.gen || s.state != sockOpen {
		return
	}
	if f.ref != "" && f.ref == s.hbRef && f.topic == topicPhoenix {
		s.hbRef = ""
		return
	}
	if f.event == eventReply {
		p, ok := s.pending[f.ref]
		if !ok || p.ch.topic != f.topic {
			return // late reply, or a reply to a fire-and-forget send
		}
		reply, err := parseReply(f)
		if err != nil {
			s.log.Warn("phoenix client: bad reply", "topic", f.topic, "err", err)
			return
		}
		delete(s.pending, f.ref)
		s.onReply(p, reply)
		return
	}
	for _, ch := range append([]*Channel(nil), s.channels...) {
		if ch.topic == f.topic && ch.isMember(f.joinRef) {
			s.onChannelFrame(ch, f)
		}
	}
}

// Channel returns a new, not yet joined channel for topic. params is the
// join payload: any JSON-marshalable value (nil sends {}), or a
// func() any called before every join and rejoin (it runs on the Socket's
// internal goroutine: keep it quick and do not call Socket or Channel
// methods from it). Register handlers with On or Notify before joining so
// no event is missed.
func (s *Socket) Channel(topic string, params any) *Channel {
	ch := &Channel{s: s, topic: topic, params: params, done: make(chan struct{})}
	if _, ok := params.(func() any); !ok {
		data, bin, err := encodePayload(params)
		if err == nil && bin {
			err = errors.New("client: join params cannot be Binary")
		}
		if err != nil {
			ch.paramsErr = fmt.Errorf("client: join params for %q: %w", topic, err)
		}
		ch.paramsRaw = data
	}
	return ch
}

// Join creates a channel for topic and joins it; see Channel.Join.
func (s *Socket) Join(ctx context.Context, topic string, params any) (*Channel, json.RawMessage, error) {
	ch := s.Channel(topic, params)
	resp, err := ch.Join(ctx)
	if err != nil {
		return nil, nil, err
	}
	return ch, resp, nil
}
