package client

import (
	"errors"
	"time"
)

type pushKind int

const (
	pushEvent pushKind = iota
	pushJoin
	pushLeave
)

// pushReq is one outgoing join, leave or push waiting for its reply.
type pushReq struct {
	kind     pushKind
	ch       *Channel
	ref      string
	event    string
	payload  []byte
	binary   bool
	timer    *time.Timer
	result   chan pushResult // blocking Push
	async    bool            // PushAsync: report to Handler.Reply
	leaveRes chan error
	done     bool
}

type pushResult struct {
	reply *Reply
	err   error
}

func (p *pushReq) stopTimer() {
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
}

func (p *pushReq) wantsReply() bool { return p.result != nil || p.async }

func (s *Socket) push(p *pushReq) error {
	ch := p.ch
	switch ch.state {
	case chInit:
		return errNotJoined
	case chClosed, chLeaving:
		if ch.err != nil && errors.Is(ch.err, ErrClosed) {
			return ErrClosed
		}
		return ErrChannelClosed
	}
	p.ref = s.makeRef()
	p.timer = s.afterFunc(s.opts.Timeout, func() { s.pushTimeout(p) })
	if ch.state == chJoined && s.state == sockOpen {
		s.sendPush(p)
	} else {
		ch.buffer = append(ch.buffer, p)
	}
	return nil
}

func (s *Socket) sendPush(p *pushReq) {
	ch := p.ch
	if p.wantsReply() {
		s.pending[p.ref] = p
	} else {
		p.done = true
		p.stopTimer()
	}
	s.write(&frame{joinRef: ch.joinRef, ref: p.ref, topic: ch.topic, event: p.event, payload: p.payload, binary: p.binary})
}

func (s *Socket) pushTimeout(p *pushReq) {
	if p.done {
		return
	}
	p.timer = nil
	s.unlinkPush(p)
	s.resolve(p, nil, ErrTimeout)
}

// cancelPush forgets p without reporting anything (its caller gave up).
func (s *Socket) cancelPush(p *pushReq) {
	if p.done {
		return
	}
	p.done = true
	p.stopTimer()
	s.unlinkPush(p)
}

func (s *Socket) unlinkPush(p *pushReq) {
	if s.pending[p.ref] == p {
		delete(s.pending, p.ref)
	}
	ch := p.ch
	for i, q := range ch.buffer {
		if q == p {
			ch.buffer = append(ch.buffer[:i:i], ch.buffer[i+1:]...)
			break
		}
	}
}

// resolve reports the outcome of a push exactly once.
func (s *Socket) resolve(p *pushReq, reply *Reply, err error) {
	if p.done {
		return
	}
	p.done = true
	p.stopTimer()
	if p.result != nil {
		p.result <- pushResult{reply: reply, err: err}
	}
	if p.async {
		ch, ref := p.ch, p.ref
		s.emit(func(h Handler) { h.Reply(ch, ref, reply, err) })
	}
}
