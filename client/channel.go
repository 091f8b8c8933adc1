package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

type channelState int

const (
	chInit    channelState = iota // created, Join not called yet
	chJoining                     // phx_join sent, waiting for the reply
	chJoined                      // joined
	chErrored                     // waiting to (re)join: backoff, decision or connection
	chLeaving                     // phx_leave sent
	chClosed                      // final
)

// Channel is one topic joined over a Socket. Create it with Socket.Channel
// (then Join or JoinAsync) or Socket.Join. After a disconnect or a server
// crash the channel rejoins by itself with a new join_ref; pushes made
// while it is not joined are buffered and sent after the join succeeds.
// All methods are safe for concurrent use.
type Channel struct {
	s         *Socket
	topic     string
	params    any
	paramsRaw []byte
	paramsErr error
	done      chan struct{}
	err       error // set before done is closed

	subMu sync.Mutex
	subs  []*subscription

	// Owned by the socket loop.
	state       channelState
	joinRef     string
	joinPush    *pushReq
	leavePush   *pushReq
	joinWaiter  chan joinResult
	buffer      []*pushReq
	rejoinTries int
	rejoinTimer *time.Timer
	awaiting    bool // a Handler decision is pending
	decisionSeq uint64

	joinRefNow atomic.Value // string: joinRef, for JoinRef outside the loop
}

type joinResult struct {
	resp json.RawMessage
	err  error
}

type subscription struct {
	event string // "" matches every event
	fn    func(Message)
}

// Topic returns the channel's topic.
func (ch *Channel) Topic() string { return ch.topic }

// JoinRef is the join_ref of the channel's current join, "" while it is
// not joining or joined. A Phoenix server stamps its pushes with it
// (Message.JoinRef); broadcasts carry none.
func (ch *Channel) JoinRef() string {
	s, _ := ch.joinRefNow.Load().(string)
	return s
}

// setJoinRef sets joinRef (on the loop) and its mirror.
func (ch *Channel) setJoinRef(ref string) {
	ch.joinRef = ref
	ch.joinRefNow.Store(ref)
}

// Socket returns the Socket the channel belongs to.
func (ch *Channel) Socket() *Socket { return ch.s }

// Done returns a channel that is closed when the Channel is closed for good:
// left, closed by the server, refused on its first blocking join, or its
// Socket closed. Err then tells why.
func (ch *Channel) Done() <-chan struct{} { return ch.done }

// Err returns nil while the channel is open, and afterwards the reason it
// was closed: ErrChannelClosed, ErrClosed, *JoinError, ErrTimeout…
func (ch *Channel) Err() error {
	select {
	case <-ch.done:
		return ch.err
	default:
		return nil
	}
}

// Join sends phx_join and waits for the server's answer. It returns the
// join response on "ok"; a *JoinError when the server refused; ErrTimeout
// when no reply came within Options.Timeout (a phx_leave is then sent like
// phoenix.js); or ctx.Err(). On any error the channel is closed. If the
// socket is not connected, the join is sent as soon as it is.
//
// Once joined, the channel rejoins by itself after disconnects and server
// crashes; failures of those rejoins go to Options.Handler (by default:
// retry with RejoinAfter backoff).
func (ch *Channel) Join(ctx context.Context) (json.RawMessage, error) {
	if ch.paramsErr != nil {
		return nil, ch.paramsErr
	}
	s := ch.s
	w := make(chan joinResult, 1)
	var err error
	if e := s.do(func() { err = s.startJoin(ch, w) }); e != nil {
		return nil, e
	}
	if err != nil {
		return nil, err
	}
	select {
	case r := <-w:
		return r.resp, r.err
	case <-ctx.Done():
		if e := s.do(func() {
			if ch.joinWaiter == w {
				ch.joinWaiter = nil
				s.startLeave(ch, nil)
			}
		}); e != nil {
			return nil, e
		}
		select {
		case r := <-w: // the outcome arrived before we gave up
			return r.resp, r.err
		default:
			return nil, ctx.Err()
		}
	case <-s.ctx.Done():
		return nil, ErrClosed
	}
}

// JoinAsync sends phx_join without waiting. The outcome goes to
// Options.Handler (Joined or JoinError); without a Handler a refused or
// timed-out join is retried forever with RejoinAfter backoff, like
// phoenix.js.
func (ch *Channel) JoinAsync() error {
	if ch.paramsErr != nil {
		return ch.paramsErr
	}
	var err error
	if e := ch.s.do(func() { err = ch.s.startJoin(ch, nil) }); e != nil {
		return e
	}
	return err
}

// Leave sends phx_leave and waits for the reply, then closes the channel.
// Buffered pushes fail with ErrChannelClosed. When the socket is not
// connected the channel is closed at once. It returns ErrTimeout if the
// server did not reply in time (the channel is closed anyway).
func (ch *Channel) Leave(ctx context.Context) error {
	s := ch.s
	res := make(chan error, 1)
	if err := s.do(func() { s.startLeave(ch, res) }); err != nil {
		return err
	}
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		_ = s.do(func() {
			if ch.state == chLeaving {
				s.finishLeave(ch, ctx.Err())
			}
		})
		return ctx.Err()
	case <-s.ctx.Done():
		return ErrClosed
	}
}

// Push sends event with payload and waits for the reply. payload is any
// JSON-marshalable value, a json.RawMessage, or Binary for a binary frame.
// A reply with a non-ok status is not an error: check Reply.Status or
// Reply.Err. Errors are ErrTimeout (no reply within Options.Timeout),
// ErrChannelClosed, ErrDisconnected, ErrClosed or ctx.Err().
func (ch *Channel) Push(ctx context.Context, event string, payload any) (*Reply, error) {
	p, err := ch.newPush(event, payload)
	if err != nil {
		return nil, err
	}
	p.result = make(chan pushResult, 1)
	s := ch.s
	if e := s.do(func() { err = s.push(p) }); e != nil {
		return nil, e
	}
	if err != nil {
		return nil, err
	}
	select {
	case r := <-p.result:
		return r.reply, r.err
	case <-ctx.Done():
		if e := s.do(func() { s.cancelPush(p) }); e != nil {
			return nil, e
		}
		select {
		case r := <-p.result:
			return r.reply, r.err
		default:
			return nil, ctx.Err()
		}
	case <-s.ctx.Done():
		return nil, ErrClosed
	}
}

// PushAsync sends event without waiting and returns its ref. The reply (or
// ErrTimeout, ErrDisconnected…) is passed to Handler.Reply; without a
// Handler it is dropped.
func (ch *Channel) PushAsync(event string, payload any) (string, error) {
	p, err := ch.newPush(event, payload)
	if err != nil {
		return "", err
	}
	p.async = true
	var ref string
	s := ch.s
	if e := s.do(func() {
		if err = s.push(p); err == nil {
			ref = p.ref
		}
	}); e != nil {
		return "", e
	}
	return ref, err
}

// Send pushes event without tracking any reply, for events the server does
// not answer (LiveState's lvs_evt:*). Like every push it is buffered until
// the channel is joined, and dropped if that takes longer than
// Options.Timeout.
func (ch *Channel) Send(event string, payload any) error {
	p, err := ch.newPush(event, payload)
	if err != nil {
		return err
	}
	if e := ch.s.do(func() { err = ch.s.push(p) }); e != nil {
		return e
	}
	return err
}

func (ch *Channel) newPush(event string, payload any) (*pushReq, error) {
	data, bin, err := encodePayload(payload)
	if err != nil {
		return nil, fmt.Errorf("client: push %q: %w", event, err)
	}
	if bin {
		if ch.s.codec != codecV2 {
			return nil, errors.New("client: binary payloads need protocol version 2")
		}
		if len(ch.topic) > maxFieldLen || len(event) > maxFieldLen {
			return nil, fmt.Errorf("client: binary push: topic and event must be at most %d bytes", maxFieldLen)
		}
	}
	return &pushReq{kind: pushEvent, ch: ch, event: event, payload: data, binary: bin}, nil
}

// On calls fn for every event named event that the server sends to this
// channel (pushes, broadcasts, and also phx_close and phx_error); an empty
// event matches every event. fn runs on the Socket's callback goroutine,
// in order with Handler calls. The returned func removes the handler.
func (ch *Channel) On(event string, fn func(Message)) (off func()) {
	sub := &subscription{event: event, fn: fn}
	ch.subMu.Lock()
	ch.subs = append(ch.subs, sub)
	ch.subMu.Unlock()
	return func() {
		ch.subMu.Lock()
		defer ch.subMu.Unlock()
		for i, x := range ch.subs {
			if x == sub {
				ch.subs = append(ch.subs[:i:i], ch.subs[i+1:]...)
				return
			}
		}
	}
}

// Notify sends the channel's events named in events (all events when none
// are named) to c, like On. Unlike signal.Notify it does not drop: while c
// is full the Socket's callback goroutine waits, so give c a buffer or
// drain it promptly. The returned func stops delivery.
func (ch *Channel) Notify(c chan<- Message, events ...string) (stop func()) {
	stopc := make(chan struct{})
	want := make(map[string]bool, len(events))
	for _, e := range events {
		want[e] = true
	}
	off := ch.On("", func(m Message) {
		if len(want) > 0 && !want[m.Event] {
			return
		}
		select {
		case c <- m:
		case <-stopc:
		case <-ch.s.ctx.Done():
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			off()
			close(stopc)
		})
	}
}

func (ch *Channel) dispatch(m Message) {
	ch.subMu.Lock()
	var fns []func(Message)
	for _, sub := range ch.subs {
		if sub.event == "" || sub.event == m.Event {
			fns = append(fns, sub.fn)
		}
	}
	ch.subMu.Unlock()
	for _, fn := range fns {
		fn(m)
	}
}

// isMember reports whether a frame with joinRef belongs to the current join:
// frames with a null join_ref always do, others must match (phoenix.js
// Channel.isMember).
func (ch *Channel) isMember(joinRef string) bool {
	return joinRef == "" || joinRef == ch.joinRef
}

func (ch *Channel) joinPayload() []byte {
	f, ok := ch.params.(func() any)
	if !ok {
		return ch.paramsRaw
	}
	data, bin, err := encodePayload(f())
	if err != nil || bin {
		ch.s.log.Warn("phoenix client: bad join params, sending {}", "topic", ch.topic, "err", err)
		return []byte("{}")
	}
	return data
}

// ---- loop side ----

func (s *Socket) startJoin(ch *Channel, w chan joinResult) error {
	if ch.state != chInit {
		return errAlreadyJoined
	}
	// Like phoenix.js leaveOpenTopic: one live channel per topic.
	for _, other := range append([]*Channel(nil), s.channels...) {
		if other.topic == ch.topic && (other.state == chJoined || other.state == chJoining) {
			s.startLeave(other, nil)
		}
	}
	ch.joinWaiter = w
	s.channels = append(s.channels, ch)
	if s.state == sockOpen {
		s.sendJoin(ch)
	} else {
		ch.state = chErrored
	}
	return nil
}

func (s *Socket) sendJoin(ch *Channel) {
	ref := s.makeRef()
	ch.setJoinRef(ref)
	ch.state = chJoining
	p := &pushReq{kind: pushJoin, ch: ch, ref: ref}
	p.timer = s.afterFunc(s.opts.Timeout, func() { s.joinTimeout(p) })
	s.pending[ref] = p
	ch.joinPush = p
	s.log.Debug("phoenix client: joining", "topic", ch.topic, "ref", ref)
	s.write(&frame{joinRef: ref, ref: ref, topic: ch.topic, event: eventJoin, payload: ch.joinPayload()})
}

func (s *Socket) onReply(p *pushReq, reply *Reply) {
	ch := p.ch
	switch p.kind {
	case pushJoin:
		if ch.joinPush != p {
			return
		}
		ch.joinPush = nil
		p.stopTimer()
		if reply.Status != "ok" {
			s.joinFailed(ch, &JoinError{Topic: ch.topic, Status: reply.Status, Response: json.RawMessage(reply.Response)})
			return
		}
		ch.state = chJoined
		ch.rejoinTries = 0
		resp := json.RawMessage(reply.Response)
		if w := ch.joinWaiter; w != nil {
			ch.joinWaiter = nil
			w <- joinResult{resp: resp}
		} else {
			s.emit(func(h Handler) { h.Joined(ch, resp) })
		}
		buf := ch.buffer
		ch.buffer = nil
		for _, q := range buf {
			if !q.done {
				s.sendPush(q)
			}
		}
	case pushLeave:
		if ch.leavePush == p {
			s.finishLeave(ch, nil)
		}
	case pushEvent:
		s.resolve(p, reply, nil)
	}
}

func (s *Socket) joinTimeout(p *pushReq) {
	ch := p.ch
	if ch.joinPush != p {
		return
	}
	delete(s.pending, p.ref)
	ch.joinPush = nil
	p.timer = nil
	if s.state == sockOpen {
		s.write(&frame{joinRef: p.ref, ref: s.makeRef(), topic: ch.topic, event: eventLeave, payload: []byte("{}")})
	}
	s.joinFailed(ch, ErrTimeout)
}

func (s *Socket) joinFailed(ch *Channel, err error) {
	s.log.Debug("phoenix client: join failed", "topic", ch.topic, "err", err)
	ch.setJoinRef("")
	if ch.joinWaiter != nil {
		s.closeChannel(ch, err)
		return
	}
	s.decideChannel(ch, err, func(h Handler) Decision { return h.JoinError(ch, err) })
}

func (s *Socket) onChannelFrame(ch *Channel, f *frame) {
	msg := Message{Topic: f.topic, Event: f.event, JoinRef: f.joinRef, Ref: f.ref, Payload: f.payload, Binary: f.binary}
	system := f.event == eventClose || f.event == eventError
	h := s.handler
	s.disp.enqueue(func() {
		ch.dispatch(msg)
		if h != nil && !system {
			h.Message(ch, msg)
		}
	})
	switch f.event {
	case eventClose:
		if ch.state == chLeaving {
			s.finishLeave(ch, nil)
			return
		}
		s.channelLost(ch, ErrChannelClosed)
	case eventError:
		if ch.state == chJoined || ch.state == chJoining {
			s.channelLost(ch, &ChannelError{Topic: ch.topic, Payload: json.RawMessage(f.payload)})
		}
	}
}

// channelLost handles phx_close and phx_error from the server.
func (s *Socket) channelLost(ch *Channel, err error) {
	if ch.state == chClosed {
		return
	}
	if p := ch.joinPush; p != nil {
		delete(s.pending, p.ref)
		p.stopTimer()
		ch.joinPush = nil
	}
	for ref, p := range s.pending {
		if p.ch == ch && p.kind == pushEvent {
			delete(s.pending, ref)
			s.resolve(p, nil, err)
		}
	}
	if ch.joinWaiter != nil {
		s.closeChannel(ch, err)
		return
	}
	s.decideChannel(ch, err, func(h Handler) Decision { return h.ChannelClosed(ch, err) })
}

// decideChannel marks ch errored and asks the Handler (or BaseHandler) what
// to do; the answer comes back through applyChannelDecision.
func (s *Socket) decideChannel(ch *Channel, err error, ask func(Handler) Decision) {
	ch.state = chErrored
	stopTimer(&ch.rejoinTimer)
	ch.decisionSeq++
	seq := ch.decisionSeq
	if s.handler == nil {
		s.applyChannelDecision(ch, seq, ask(BaseHandler{}), err)
		return
	}
	ch.awaiting = true
	h := s.handler
	s.disp.enqueue(func() {
		d := ask(h)
		s.post(nil, func() { s.applyChannelDecision(ch, seq, d, err) })
	})
}

func (s *Socket) applyChannelDecision(ch *Channel, seq uint64, d Decision, err error) {
	if ch.state != chErrored || ch.decisionSeq != seq {
		return
	}
	ch.awaiting = false
	if d.Stop {
		s.closeChannel(ch, err)
		return
	}
	delay := d.Delay
	if delay <= 0 {
		ch.rejoinTries++
		delay = s.opts.RejoinAfter(ch.rejoinTries)
	}
	if s.state != sockOpen {
		return // rejoined as soon as the socket opens
	}
	stopTimer(&ch.rejoinTimer)
	ch.rejoinTimer = s.afterFunc(delay, func() {
		if ch.state == chErrored && !ch.awaiting && ch.decisionSeq == seq && s.state == sockOpen {
			ch.rejoinTimer = nil
			s.sendJoin(ch)
		}
	})
}

func (s *Socket) startLeave(ch *Channel, res chan error) {
	reply := func(err error) {
		if res != nil {
			res <- err
		}
	}
	switch ch.state {
	case chClosed, chLeaving:
		reply(nil)
		return
	case chJoined, chJoining:
		if s.state == sockOpen {
			break
		}
		fallthrough
	default:
		s.closeChannel(ch, ErrChannelClosed)
		reply(nil)
		return
	}
	joinRef := ch.joinRef
	if p := ch.joinPush; p != nil {
		delete(s.pending, p.ref)
		p.stopTimer()
		ch.joinPush = nil
	}
	if w := ch.joinWaiter; w != nil {
		ch.joinWaiter = nil
		w <- joinResult{err: ErrChannelClosed}
	}
	stopTimer(&ch.rejoinTimer)
	s.failBuffer(ch, ErrChannelClosed)
	p := &pushReq{kind: pushLeave, ch: ch, ref: s.makeRef(), leaveRes: res}
	p.timer = s.afterFunc(s.opts.Timeout, func() {
		if ch.leavePush == p {
			s.finishLeave(ch, ErrTimeout)
		}
	})
	s.pending[p.ref] = p
	ch.leavePush = p
	ch.state = chLeaving
	s.write(&frame{joinRef: joinRef, ref: p.ref, topic: ch.topic, event: eventLeave, payload: []byte("{}")})
}

func (s *Socket) finishLeave(ch *Channel, err error) {
	if p := ch.leavePush; p != nil {
		ch.leavePush = nil
		delete(s.pending, p.ref)
		p.stopTimer()
		if p.leaveRes != nil {
			p.leaveRes <- err
		}
	}
	s.closeChannel(ch, ErrChannelClosed)
}

// closeChannel makes ch final: everything waiting on it fails, it is
// removed from the socket and Done is closed.
func (s *Socket) closeChannel(ch *Channel, err error) {
	if ch.state == chClosed {
		return
	}
	ch.state = chClosed
	stopTimer(&ch.rejoinTimer)
	pushErr := ErrChannelClosed
	if errors.Is(err, ErrClosed) {
		pushErr = ErrClosed
	}
	if p := ch.joinPush; p != nil {
		delete(s.pending, p.ref)
		p.stopTimer()
		ch.joinPush = nil
	}
	if p := ch.leavePush; p != nil {
		ch.leavePush = nil
		delete(s.pending, p.ref)
		p.stopTimer()
		if p.leaveRes != nil {
			p.leaveRes <- err
		}
	}
	s.failBuffer(ch, pushErr)
	for ref, p := range s.pending {
		if p.ch == ch {
			delete(s.pending, ref)
			s.resolve(p, nil, pushErr)
		}
	}
	if w := ch.joinWaiter; w != nil {
		ch.joinWaiter = nil
		w <- joinResult{err: err}
	}
	for i, c := range s.channels {
		if c == ch {
			s.channels = append(s.channels[:i:i], s.channels[i+1:]...)
			break
		}
	}
	ch.err = err
	close(ch.done)
}

func (s *Socket) failBuffer(ch *Channel, err error) {
	buf := ch.buffer
	ch.buffer = nil
	for _, p := range buf {
		s.resolve(p, nil, err)
	}
}
