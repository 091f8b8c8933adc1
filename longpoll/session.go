package longpoll

import (
	"context"
	"sync"
	"time"

	"github.com/seance-go/seance/phx"
)

// session is one long-poll connection: an engine session, its token and
// the state of its polls. No goroutine runs for an idle session: reaping is
// a timer, release is a context.AfterFunc.
type session struct {
	h      *Handler
	id     string
	client string // its key for Options.MaxSessionsPerIP
	token  string
	sess   *phx.Session
	timer  *time.Timer // reaps the session when idle

	recv sync.Mutex // one POST (Receive) at a time

	mu         sync.Mutex
	polls      int                // GETs being served
	last       time.Time          // end (or start) of the last GET
	cancelPoll context.CancelFunc // cancels the current GET's wait
	turn       chan struct{}      // closed when the current GET is done
	dead       bool               // released: the timer must stay stopped
}

// beginPoll makes the calling GET the session's poller and cancels the
// previous one. It returns the previous GET's done channel (nil if none),
// which the caller waits on before reading frames, and its own, which
// endPoll closes. The reaper holds off while a GET is served.
func (s *session) beginPoll(cancel context.CancelFunc) (prev, mine chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancelPoll != nil {
		s.cancelPoll()
	}
	prev, mine = s.turn, make(chan struct{})
	s.cancelPoll, s.turn = cancel, mine
	s.polls++
	s.last = time.Now()
	return prev, mine
}

// endPoll records the end of a GET and re-arms the reaper when no GET is
// left.
func (s *session) endPoll(mine chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(mine)
	if s.turn == mine {
		s.turn, s.cancelPoll = nil, nil
	}
	s.polls--
	s.last = time.Now()
	if s.polls == 0 && !s.dead {
		s.timer.Reset(s.h.opts.IdleTimeout)
	}
}

// reap runs from the idle timer: it closes the session unless a GET is being
// served or one ended less than IdleTimeout ago.
func (s *session) reap() {
	s.mu.Lock()
	if s.polls > 0 {
		s.mu.Unlock()
		return // endPoll re-arms the timer
	}
	if s.dead {
		s.mu.Unlock()
		return
	}
	if left := s.h.opts.IdleTimeout - time.Since(s.last); left > 0 {
		s.timer.Reset(left)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.sess.Logger().Debug("longpoll: reaping idle session")
	s.sess.Close(phx.IdleTimeout()) // its channels see phx.ErrDisconnected
}

// cleanup runs once the session closed, for any reason: the token stops
// working and the engine is told the transport let go.
func (s *session) cleanup() {
	h := s.h
	h.mu.Lock()
	if h.sessions[s.id] == s {
		delete(h.sessions, s.id)
	}
	h.unreserveLocked(s.client)
	h.mu.Unlock()
	s.mu.Lock()
	s.dead = true
	s.timer.Stop()
	s.mu.Unlock()
	s.sess.Detach()
	if h.onRelease != nil {
		h.onRelease()
	}
	h.wg.Done()
}
