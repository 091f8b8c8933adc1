package phx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ConnectInfo describes one client connection. Transports fill it in; the
// connect hook may set Identity; channels read it with
// [Channel.ConnectInfo].
type ConnectInfo struct {
	// Transport is "websocket" or "longpoll".
	Transport string
	// Params holds the connect parameters from the query string, bracket
	// keys decoded into nested maps (user[name]=x → {"user":{"name":"x"}}),
	// the last of duplicated keys winning, "vsn" included.
	Params map[string]any
	// AuthToken is the phoenix.js 1.8 authToken, when the client sent one.
	AuthToken string
	// RemoteAddr is the client's network address as the transport saw it.
	RemoteAddr string
	// Identity is whatever the connect hook attached (a user, claims…).
	Identity any
	// ID names the connection for [Endpoint.DisconnectID] (Phoenix's
	// socket id/1, e.g. "user_socket:42"); the connect hook sets it, empty
	// means anonymous. A broadcast of event "disconnect" to the topic ID,
	// from any node, closes every connection with that id.
	ID string
}

// Session is the engine side of one client connection, whichever transport
// carries it. Transports call [Session.Receive] for each inbound frame (from
// one goroutine at a time), write what [Session.Next] returns (or, for
// push-style transports, what [Session.Take] returns when the function given
// to [Session.SetNotify] is called), and call [Session.Detach] once when they
// are done with it.
type Session struct {
	ep       *Endpoint
	id       uint64
	logger   atomic.Pointer[slog.Logger] // made on first use
	ser      Serializer
	info     ConnectInfo
	binaryOK bool
	ctx      context.Context
	cancel   context.CancelFunc

	mu       sync.Mutex
	channels map[string]*Channel
	closed   bool

	omu     sync.Mutex
	frames  []Frame
	spare   []Frame // the batch last returned by Take, reused as the next queue
	qbytes  int
	notify  chan struct{} // created by the first Next that waits
	wake    func(bool)    // set by SetNotify
	oclosed bool
	// closeErr is set with oclosed, under omu; Err reads it without the
	// lock (transports ask for every frame they write).
	closeErr atomic.Pointer[CloseError]

	detachOnce sync.Once
}

// ID is the connection's id: unique within the endpoint's process, it
// tells one connection's log lines from another's ("conn" attribute).
func (s *Session) ID() string { return strconv.FormatUint(s.id, 10) }

// Logger returns the endpoint's logger with the connection's attributes:
// conn (its [Session.ID]), transport and remote. Transports log through it
// so that every line of a connection carries the same attributes; it never
// carries the auth token or the connect parameters.
func (s *Session) Logger() *slog.Logger {
	if l := s.logger.Load(); l != nil {
		return l
	}
	l := s.ep.log.With(slog.String("conn", s.ID()), slog.String("transport", s.info.Transport), slog.String("remote", s.info.RemoteAddr))
	s.logger.CompareAndSwap(nil, l)
	return s.logger.Load()
}

func (s *Session) log() *slog.Logger { return s.Logger() }

// Info returns the connection's description.
func (s *Session) Info() *ConnectInfo { return &s.info }

// Serializer returns the serializer negotiated for this connection.
func (s *Session) Serializer() Serializer { return s.ser }

// Context is cancelled when the session closes.
func (s *Session) Context() context.Context { return s.ctx }

// Receive decodes and dispatches one inbound frame. It returns a
// [*CloseError] for malformed input; the transport should then close the
// connection with that code. Calls must not overlap. The session keeps
// references into data (payloads reach channels without a copy), so the
// caller must not modify or reuse data after the call.
func (s *Session) Receive(data []byte, binary bool) error {
	if o := s.ep.obs; o != nil && o.FrameIn != nil {
		o.FrameIn(s.info.Transport, len(data))
	}
	msg, err := s.ser.Decode(data, binary)
	if err != nil {
		return err
	}
	s.dispatch(&msg, nil)
	return nil
}

// Inline is a channel's work that [Session.ReceiveInline] left to its
// caller. The zero Inline holds none.
type Inline struct {
	c   *Channel
	msg Message
}

// Pending reports whether there is work to run.
func (w Inline) Pending() bool { return w.c != nil }

// Run runs the channel's callbacks on the caller's goroutine, in order,
// until the channel has no more queued work (more may arrive meanwhile);
// a zero Inline returns at once. Call it exactly once for every Inline
// that is Pending; it may block as long as the callbacks do.
func (w Inline) Run() {
	if w.c == nil {
		return
	}
	if !w.c.runIn(&w.msg) {
		w.c.sess.ep.release() // crashed: the channel is dead
		return
	}
	w.c.drain()
}

// Go hands the work to the endpoint's worker pool instead of running it,
// as [Session.Receive] does; a zero Inline does nothing. Call it instead
// of Run, never both.
func (w Inline) Go() {
	if w.c != nil {
		w.c.requeue(w.msg)
	}
}

// ReceiveInline is [Session.Receive] for a transport that can run a client
// event's callback on its own goroutine: when the event's channel has no
// work queued or running, the callback is not handed to the endpoint's
// worker pool but returned, and the caller must call [Inline.Run], which
// saves a goroutine hand-off per event. The channel stays busy until Run
// returns: its later events and messages are queued behind it, so its
// callbacks still run one at a time in arrival order. A transport that
// calls Run on its only reading goroutine stops reading while a callback
// runs; it should let another goroutine read first (as the WebSocket
// handler does) so that heartbeats and other channels are not held up.
func (s *Session) ReceiveInline(data []byte, binary bool) (Inline, error) {
	if o := s.ep.obs; o != nil && o.FrameIn != nil {
		o.FrameIn(s.info.Transport, len(data))
	}
	msg, err := s.ser.Decode(data, binary)
	if err != nil {
		return Inline{}, err
	}
	var w Inline
	s.dispatch(&msg, &w)
	return w, nil
}

// dispatch handles one decoded message. With w non-nil, a client event for
// an idle channel is left in *w for the caller to run.
func (s *Session) dispatch(m *Message, w *Inline) {
	if s.tooLong(m) {
		return
	}
	if m.Topic == "phoenix" && m.Event == "heartbeat" {
		s.reply(Ref{}, m.Ref, m.Topic, Ok(nil))
		return
	}
	if m.Event == "phx_join" {
		// A join outlives the call: its own copy, so that m (and the
		// message a transport decoded into it) stays on the caller's stack.
		jm := *m
		s.join(&jm)
		return
	}
	s.mu.Lock()
	ch := s.channels[m.Topic]
	s.mu.Unlock()
	if ch == nil {
		if m.Event == "phx_leave" {
			s.reply(m.JoinRef, m.Ref, m.Topic, Ok(nil))
			return
		}
		s.log().Debug("phx: message for a topic not joined", "topic", m.Topic, "event", m.Event)
		s.reply(Ref{}, m.Ref, m.Topic, Err(map[string]string{"reason": "unmatched topic"}))
		return
	}
	if !m.JoinRef.IsNull() && m.JoinRef.val != ch.joinRef.val {
		s.log().Debug("phx: stale join_ref dropped", "topic", m.Topic, "event", m.Event, "join_ref", m.JoinRef.val)
		return
	}
	if m.Event == "phx_leave" {
		if !s.detach(ch) {
			return
		}
		ref := m.Ref
		ch.terminateThen(ErrLeft, func() {
			s.reply(ch.joinRef, ref, ch.topic, Ok(nil))
			ch.sendClose()
		})
		ch.unsubscribeAll()
		return
	}
	ch.enqueueIn(m, w)
}

// tooLong answers a message whose topic or event name passes the
// endpoint's limits with an error reply, and reports whether it did. The
// reply carries the topic back, which phoenix.js needs to match it.
func (s *Session) tooLong(m *Message) bool {
	cfg := &s.ep.cfg
	var reason string
	switch {
	case len(m.Topic) > cfg.MaxTopicBytes:
		reason = "topic too long"
	case len(m.Event) > cfg.MaxEventBytes:
		reason = "event too long"
	default:
		return false
	}
	s.log().Debug("phx: message refused: "+reason, "topic_bytes", len(m.Topic), "event_bytes", len(m.Event))
	s.reply(m.JoinRef, m.Ref, m.Topic, Err(map[string]string{"reason": reason}))
	return true
}

func (c *Channel) handleIn(ctx context.Context, m *Message) {
	if c.in == nil {
		c.Logger().Warn("phx: event on a channel without InHandler", "event", m.Event)
		c.sess.reply(c.joinRef, m.Ref, c.topic, Err(map[string]string{"reason": "unhandled event"}))
		return
	}
	var r *Reply
	var err error
	if o := c.sess.ep.obs; o != nil && (o.EventStart != nil || o.EventDone != nil) {
		r, err = c.observeIn(ctx, o, m)
	} else {
		r, err = c.callIn(ctx, m)
	}
	switch {
	case err != nil:
		c.sess.reply(c.joinRef, m.Ref, c.topic, Err(map[string]string{"reason": err.Error()}))
	case r != nil:
		if err := c.sess.reply(c.joinRef, m.Ref, c.topic, r); err != nil && !errors.Is(err, ErrDisconnected) && !errors.Is(err, ErrSlowConsumer) {
			// The response could not be encoded (or is binary on a transport
			// without binary frames): tell the client rather than let its
			// push time out.
			c.Logger().Error("phx: reply not sent", "event", m.Event, "error", err)
			c.sess.reply(c.joinRef, m.Ref, c.topic, Err(map[string]string{"reason": "reply not sendable"}))
		}
	}
}

// callIn calls the channel's InHandler, with the message by value when it
// takes it so.
func (c *Channel) callIn(ctx context.Context, m *Message) (*Reply, error) {
	if c.inv != nil {
		return c.inv.HandleInValue(ctx, c, *m)
	}
	return c.callInHeap(ctx, *m)
}

// callInHeap gives HandleIn a copy of the message: the pointer argument of
// an interface method is moved to the heap, and that copy is what moves,
// not the caller's message.
func (c *Channel) callInHeap(ctx context.Context, m Message) (*Reply, error) {
	return c.in.HandleIn(ctx, c, &m)
}

// observeIn calls HandleIn between the observer's EventStart and
// EventDone.
func (c *Channel) observeIn(ctx context.Context, o *Observer, m *Message) (r *Reply, err error) {
	e := c.eventInfo(m.Event)
	if o.EventStart != nil {
		ctx = o.EventStart(ctx, e)
	}
	start := time.Now()
	returned := false
	defer func() {
		if o.EventDone == nil {
			return
		}
		e.Duration = time.Since(start)
		e.Crashed = !returned
		e.Err = err
		if e.Err == nil && r != nil && r.Status != "ok" {
			e.Err = errErrorReply
		}
		o.EventDone(ctx, e)
	}()
	r, err = c.callIn(ctx, m)
	returned = true
	return r, err
}

var errErrorReply = errors.New("phx: error reply")

// eventInfo describes an event of the channel to the observer.
func (c *Channel) eventInfo(event string) EventInfo {
	return EventInfo{Pattern: c.pattern, Transport: c.sess.info.Transport, Topic: c.topic, Event: event, JoinRef: c.joinRef.val}
}

func (s *Session) join(m *Message) {
	// A decoded frame's strings may share one allocation with the rest of
	// its header (decodeV2Compact): the channel keeps copies of its own.
	m.Topic, m.JoinRef, m.Ref = strings.Clone(m.Topic), m.JoinRef.clone(), m.Ref.clone()
	if reserved(m.Topic) {
		s.log().Warn("phx: join of a reserved topic refused", "topic", m.Topic, "join_ref", m.JoinRef.val)
		s.reply(Ref{}, m.Ref, m.Topic, Err(map[string]string{"reason": "reserved topic"}))
		return
	}
	h, pattern, param := s.ep.router.match(m.Topic)
	if h == nil {
		s.log().Info("phx: join of an unmatched topic", "topic", m.Topic, "join_ref", m.JoinRef.val)
		s.reply(Ref{}, m.Ref, m.Topic, Err(map[string]string{"reason": "unmatched topic"}))
		return
	}
	joinRef := m.JoinRef
	if joinRef.IsNull() {
		joinRef = m.Ref
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	old := s.channels[m.Topic]
	if old != nil {
		delete(s.channels, m.Topic)
	}
	count := len(s.channels)
	s.mu.Unlock()
	closeOld := old != nil
	if old != nil {
		old.terminate(ErrDuplicateJoin, false)
		defer func() {
			if closeOld {
				old.sendClose() // after the new join's reply, as Phoenix does
			}
		}()
	}
	if count >= s.ep.cfg.MaxChannels {
		s.log().Info("phx: too many channels joined", "topic", m.Topic, "join_ref", m.JoinRef.val, "limit", s.ep.cfg.MaxChannels)
		s.reply(m.JoinRef, m.Ref, m.Topic, Err(map[string]string{"reason": "too many channels joined"}))
		return
	}
	ch := newChannel(s, m.Topic, joinRef, h)
	ch.param, ch.pattern = param, pattern
	ctx := s.ctx
	var start time.Time
	o := s.ep.obs
	if o != nil && (o.JoinStart != nil || o.JoinDone != nil) {
		if o.JoinStart != nil {
			ctx = o.JoinStart(ctx, ch.eventInfo(m.Event))
		}
		start = time.Now()
	}
	resp, err := s.callJoin(ctx, h, ch, m.Payload)
	if o != nil && o.JoinDone != nil {
		e := ch.eventInfo(m.Event)
		e.Duration, e.Err, e.Crashed = time.Since(start), err, errors.Is(err, errJoinCrashed)
		o.JoinDone(ctx, e)
	}
	if err != nil {
		var je *JoinError
		switch {
		case errors.As(err, &je):
			s.reply(m.JoinRef, m.Ref, m.Topic, Err(je.Response))
		case errors.Is(err, errJoinCrashed):
			s.reply(m.JoinRef, m.Ref, m.Topic, Err(map[string]string{"reason": "join crashed"}))
		default:
			s.reply(m.JoinRef, m.Ref, m.Topic, Err(map[string]string{"reason": err.Error()}))
		}
		ch.runEnd(ErrJoinRefused)
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ch.terminate(ErrDisconnected, false)
		return
	}
	if s.channels == nil {
		s.channels = map[string]*Channel{}
	}
	s.channels[m.Topic] = ch
	s.mu.Unlock()
	// Subscribe before the reply, as Phoenix does: a client that has seen
	// the join reply receives every broadcast published after it on this
	// node (and on the others once the PubSub adapter has confirmed the
	// subscription: see Config.JoinAwaitsSubscription). Broadcasts arriving
	// before the reply is queued are held by the channel until start.
	ch.subscribe(m.Topic, true)
	if s.ep.cfg.JoinAwaitsSubscription > 0 && s.ep.broker != nil {
		if landed := s.ep.broker.landing(m.Topic); landed != nil {
			closeOld = false
			go s.joinWhenLanded(landed, ch.awaitEnd(), ch, m, resp, h, old)
			return
		}
	}
	s.sendJoinReply(ch, m, resp)
	s.afterJoin(ch, h)
}

// joinWhenLanded ends a join whose reply waits for the subscription of its
// topic (Config.JoinAwaitsSubscription): once landed is closed, the wait
// is over, or once ending is (the channel was left or replaced, or its
// session closed), without a reply.
func (s *Session) joinWhenLanded(landed, ending <-chan struct{}, ch *Channel, m *Message, resp any, h Handler, old *Channel) {
	t := time.NewTimer(s.ep.cfg.JoinAwaitsSubscription)
	select {
	case <-landed:
	case <-ending:
	case <-t.C:
		s.ep.broker.joinWaitsExpired.Add(1)
		s.ep.broker.warn(&s.ep.broker.lastSubLog, "phx: join replied before the subscription of its topic was confirmed", "topic", m.Topic, "waited", s.ep.cfg.JoinAwaitsSubscription)
	}
	t.Stop()
	replied := ch.claimJoinReply()
	if replied {
		s.sendJoinReply(ch, m, resp)
	}
	if old != nil {
		old.sendClose() // after the new join's reply, as Phoenix does
	}
	if replied {
		s.afterJoin(ch, h)
	}
}

func (s *Session) sendJoinReply(ch *Channel, m *Message, resp any) {
	if err := s.reply(m.JoinRef, m.Ref, m.Topic, Ok(resp)); err != nil {
		level := slog.LevelWarn
		if errors.Is(err, ErrDisconnected) || errors.Is(err, ErrSlowConsumer) {
			level = slog.LevelDebug // an ordinary disconnect racing the join
		}
		ch.Logger().Log(context.Background(), level, "phx: join reply not sent", "error", err)
	}
}

// afterJoin queues h's AfterJoin, if any, and starts ch.
func (s *Session) afterJoin(ch *Channel, h Handler) {
	if aj, ok := h.(AfterJoiner); ok {
		ch.enqueueFirst(func(ctx context.Context) {
			if err := aj.AfterJoin(ctx, ch); err != nil {
				ch.Logger().Warn("phx: after-join hook failed", "error", err)
			}
		})
	}
	ch.start()
}

var errJoinCrashed = errors.New("join crashed")

func (s *Session) callJoin(ctx context.Context, h Handler, ch *Channel, params Payload) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			ch.Logger().Error("phx: join handler panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp, err = nil, errJoinCrashed
		}
	}()
	if f := s.ep.cfg.BeforeJoin; f != nil {
		if err := f(ctx, ch, params); err != nil {
			return nil, err
		}
	}
	return h.Join(ctx, ch, params)
}

// detach removes ch from the session if it is still the channel of its
// topic, reporting whether it was.
func (s *Session) detach(ch *Channel) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.channels[ch.topic] != ch {
		return false
	}
	delete(s.channels, ch.topic)
	return true
}

// reply queues a phx_reply.
func (s *Session) reply(joinRef, ref Ref, topic string, r *Reply) error {
	out := Outgoing{Kind: KindReply, JoinRef: joinRef, Ref: ref, Topic: topic, Status: r.Status}
	if err := setPayload(&out, r.Response); err != nil {
		return err
	}
	return s.send(&out)
}

// send encodes and queues one message.
func (s *Session) send(out *Outgoing) error {
	if out.Binary && !s.binaryOK {
		return ErrBinaryUnsupported
	}
	var f Frame
	var err error
	if _, ok := s.ser.(v2); ok {
		// called directly, out does not escape: the callers' Outgoing
		// stays on their stack
		f, err = v2{}.Encode(out)
	} else {
		o := *out
		f, err = s.ser.Encode(&o)
	}
	if err != nil {
		return err
	}
	return s.enqueue(f, false)
}

// enqueue adds a frame to the outbound queue, closing the session when the
// queue would pass its limits. broadcast tells the transport's notification
// that the caller is delivering one frame to many sessions.
func (s *Session) enqueue(f Frame, broadcast bool) error {
	s.omu.Lock()
	if s.oclosed {
		s.omu.Unlock()
		return ErrDisconnected
	}
	cfg := &s.ep.cfg
	if len(s.frames) >= cfg.QueueLength || s.qbytes+len(f.Data) > cfg.QueueBytes {
		n, b := len(s.frames), s.qbytes
		s.omu.Unlock()
		if o := s.ep.obs; o != nil && o.QueueDropped != nil {
			o.QueueDropped(s.info.Transport, n, b)
		}
		s.log().Warn("phx: client is not reading, disconnecting", "queued_frames", n, "queued_bytes", b)
		s.Close(ErrSlowConsumer)
		return ErrSlowConsumer
	}
	first := len(s.frames) == 0
	s.frames = append(s.frames, f)
	s.qbytes += len(f.Data)
	notify, wake := s.notify, s.wake
	s.omu.Unlock()
	if notify != nil {
		select {
		case notify <- struct{}{}:
		default:
		}
	}
	if first && wake != nil {
		wake(broadcast)
	}
	return nil
}

// maxSpare is the largest queue capacity Take keeps for reuse; a burst's
// larger queue is left to the garbage collector.
const maxSpare = 64

// SetNotify registers f, which the session calls (from whichever goroutine
// queued the frame or closed the session, without holding its locks) when
// its outbound queue goes from empty to non-empty and when the session
// closes. Push-style transports use it with [Session.Take] to run a writer
// only while there is something to write. broadcast is true when the
// caller is delivering one frame to many sessions (a broadcast, a
// [Prepared] push): it should be held up as little as possible, whereas
// any other caller may write the frame itself if that cannot block. If
// frames are already queued or the session is closed, f is called before
// SetNotify returns. f must not block for long; call SetNotify at most
// once, before the session's first frame is expected to be written.
func (s *Session) SetNotify(f func(broadcast bool)) {
	s.omu.Lock()
	s.wake = f
	ready := len(s.frames) > 0 || s.oclosed
	s.omu.Unlock()
	if ready {
		f(false)
	}
}

// Take returns the queued frames without waiting: nil, nil when the queue
// is empty and the session open; nil and the [*CloseError] the transport
// should close with once the session is closed and the queue flushed. The
// returned slice is reused by the session: it is valid only until the next
// call of Take or Next.
func (s *Session) Take() ([]Frame, *CloseError) {
	s.omu.Lock()
	defer s.omu.Unlock()
	if len(s.frames) > 0 {
		out := s.frames
		next := s.spare
		clear(next)
		s.frames = next[:0]
		s.spare = nil
		if cap(out) <= maxSpare {
			s.spare = out
		}
		if o := s.ep.obs; o != nil && o.FramesOut != nil {
			o.FramesOut(s.info.Transport, len(out), s.qbytes)
		}
		s.qbytes = 0
		return out, nil
	}
	// The caller is done with the previous batch: drop its references
	// so that an idle connection does not keep frames alive.
	clear(s.spare)
	s.spare = s.spare[:0]
	if s.oclosed {
		return nil, s.closeErr.Load()
	}
	return nil, nil
}

// Next waits for outbound frames and returns all that are queued. After the
// session closed and the queue is empty it returns the [*CloseError] the
// transport should close the connection with. It also returns ctx.Err()
// when ctx ends first.
func (s *Session) Next(ctx context.Context) ([]Frame, error) {
	for {
		s.omu.Lock()
		if len(s.frames) > 0 {
			out, n := s.frames, s.qbytes
			s.frames = nil
			s.qbytes = 0
			s.omu.Unlock()
			if o := s.ep.obs; o != nil && o.FramesOut != nil {
				o.FramesOut(s.info.Transport, len(out), n)
			}
			return out, nil
		}
		if s.oclosed {
			ce := s.closeErr.Load()
			s.omu.Unlock()
			return nil, ce
		}
		if s.notify == nil {
			s.notify = make(chan struct{}, 1)
		}
		notify := s.notify
		s.omu.Unlock()
		select {
		case <-notify:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Topics returns the topics the session has joined, sorted.
func (s *Session) Topics() []string {
	s.mu.Lock()
	out := make([]string, 0, len(s.channels))
	for t := range s.channels {
		out = append(out, t)
	}
	s.mu.Unlock()
	sort.Strings(out)
	return out
}

// Pending reports how many frames are queued.
func (s *Session) Pending() int {
	s.omu.Lock()
	defer s.omu.Unlock()
	return len(s.frames)
}

// Err returns the close error once the session is closed, nil before.
func (s *Session) Err() *CloseError {
	return s.closeErr.Load()
}

// Close ends the session: every channel terminates with reason (see
// [Terminator]) and [Session.Next] returns the close error once the queue
// is flushed (immediately for [ErrSlowConsumer]). Close is idempotent.
func (s *Session) Close(reason error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	chans := s.channels
	s.channels = nil
	s.mu.Unlock()
	for _, ch := range chans {
		ch.terminate(reason, false)
	}
	s.omu.Lock()
	s.oclosed = true
	s.closeErr.Store(closeErrorFor(reason))
	if errors.Is(reason, ErrSlowConsumer) {
		s.frames, s.qbytes = nil, 0
	}
	notify, wake := s.notify, s.wake
	s.omu.Unlock()
	if notify != nil {
		select {
		case notify <- struct{}{}:
		default:
		}
	}
	if wake != nil {
		wake(false)
	}
	s.cancel()
}

// Detach tells the endpoint the transport is done with the session; it
// closes the session with [ErrDisconnected] if still open. Call it once,
// when the transport's goroutines for this connection have finished.
func (s *Session) Detach() {
	s.detachOnce.Do(func() {
		s.Close(ErrDisconnected)
		s.ep.removeSession(s)
		if o := s.ep.obs; o != nil && o.ConnClosed != nil {
			o.ConnClosed(s.info.Transport, CloseReason(s.Err()))
		}
	})
}
