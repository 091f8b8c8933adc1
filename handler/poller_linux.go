//go:build linux

package handler

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"time"
)

// poller waits for the handler's idle WebSocket connections to become
// readable, all of them with one epoll instance and one goroutine, so that
// an idle connection holds no goroutine (and no stack) of its own. A
// connection is registered one-shot: after its event, the pooled reader
// that got it reads what arrived and re-arms it before it leaves (see
// wsConn.rest), so no event is ever delivered for input already read.
// The epoll instance is itself waited on by the runtime's poller: its
// goroutine is parked like any other reader, not blocked in a system call.
// It exists only while connections are registered (goroutine leak checks
// see none once the last one has ended).
type poller struct {
	idle  time.Duration // Options.IdleTimeout
	start time.Time     // the origin of clock

	mu    sync.Mutex
	set   *epollSet          // nil when no connection is registered
	conns map[uint64]*wsConn // by the id in their epoll event
	next  uint64
	sweep *time.Timer // runs expire, while connections are registered
	scan  []*wsConn   // expire's copy of conns
	ops   sync.Pool   // *epollOp, so that epollCtl allocates nothing
}

func (p *poller) init(idle time.Duration) { p.idle, p.start = idle, time.Now() }

// clock is t on the poller's monotonic clock.
func (p *poller) clock(t time.Time) int64 { return int64(t.Sub(p.start)) }

// sweepEvery is how often the poller looks for connections idle for
// longer than IdleTimeout (closed between IdleTimeout and IdleTimeout +
// sweepEvery after their last message) and for sockets closed by others
// than the handler (a middleware that kept the hijacked connection): the
// runtime drops a closed socket from the epoll instance without an event.
// One sweep for all connections costs less than a timer for each.
func (p *poller) sweepEvery() time.Duration { return min(max(p.idle/4, time.Millisecond), closedSweep) }

// closedSweep bounds sweepEvery: how late a socket closed by others than
// the handler may be noticed.
const closedSweep = 250 * time.Millisecond

// expire ends the connections idle for IdleTimeout or longer and those
// whose socket was closed, and takes the read side back from callbacks
// that have held it since before the previous sweep (see wsConn.expire).
func (p *poller) expire() {
	now := p.clock(time.Now())
	before, lentBefore := now-int64(p.idle), now-int64(p.sweepEvery())
	p.mu.Lock()
	if p.set == nil {
		p.mu.Unlock()
		return
	}
	scan := p.scan[:0]
	for _, c := range p.conns {
		scan = append(scan, c)
	}
	p.scan = nil // this sweep's until it is done
	p.mu.Unlock()
	for i, c := range scan {
		c.expire(before, lentBefore)
		scan[i] = nil
	}
	p.mu.Lock()
	p.scan = scan[:0]
	if p.set != nil {
		p.sweep.Reset(p.sweepEvery())
	}
	p.mu.Unlock()
}

// epollSet is one epoll instance and the goroutine waiting on it.
type epollSet struct {
	fd int
	f  *os.File // fd, for the runtime's poller
}

const pollEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

// add registers c, armed: reports false when its socket cannot be
// registered (the connection then reads on a goroutine of its own).
func (p *poller) add(c *wsConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.set == nil {
		s, err := newEpollSet()
		if err != nil {
			return false
		}
		p.set = s
		if p.conns == nil {
			p.conns = map[uint64]*wsConn{}
		}
		go p.loop(s)
		if p.sweep == nil {
			p.sweep = time.AfterFunc(p.sweepEvery(), p.expire)
		} else {
			p.sweep.Reset(p.sweepEvery())
		}
	}
	p.next++
	c.pollID, c.pollFD = p.next, p.set.fd
	c.rIdle = true // not yet visible to the poller's goroutine: p.mu is held
	p.conns[c.pollID] = c
	if err := c.epollCtl(syscall.EPOLL_CTL_ADD); err != nil {
		delete(p.conns, c.pollID)
		c.rIdle = false
		p.closeIfEmpty()
		return false
	}
	return true
}

// remove unregisters c once its reader has ended.
func (p *poller) remove(c *wsConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.conns[c.pollID]; !ok {
		return
	}
	delete(p.conns, c.pollID)
	p.closeIfEmpty()
}

// closeIfEmpty closes the epoll instance when no connection is left; its
// goroutine then ends. p.mu is held.
func (p *poller) closeIfEmpty() {
	if len(p.conns) == 0 && p.set != nil {
		p.set.f.Close()
		p.set = nil
		p.sweep.Stop()
	}
}

func newEpollSet() (*epollSet, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	// Non-blocking, so os.NewFile hands it to the runtime's poller.
	return &epollSet{fd: fd, f: os.NewFile(uintptr(fd), "epoll")}, nil
}

// loop hands every connection that became readable to a pooled reader,
// until the epoll instance is closed.
func (p *poller) loop(s *epollSet) {
	raw, err := s.f.SyscallConn()
	if err != nil {
		return
	}
	events := make([]syscall.EpollEvent, 128)
	var ready []*wsConn
	// One Read for the instance's life: the callback takes the events and
	// asks to wait again. Readiness that arrives while it runs is kept by
	// the runtime for the next wait (a new Read would forget it and need
	// one more epoll_wait to find out).
	raw.Read(func(fd uintptr) bool {
		for {
			n, err := syscall.EpollWait(int(fd), events, 0)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if n <= 0 {
				return false
			}
			p.mu.Lock()
			for _, ev := range events[:n] {
				if c := p.conns[uint64(uint32(ev.Fd))|uint64(uint32(ev.Pad))<<32]; c != nil {
					ready = append(ready, c)
				}
			}
			p.mu.Unlock()
			for i, c := range ready {
				c.readable()
				ready[i] = nil
			}
			ready = ready[:0]
			if n < len(events) {
				return false
			}
		}
	})
	// Read returned: the instance was closed, no connection is left.
}

// epollCtl adds or re-arms c's socket in its epoll instance. The socket
// cannot be closed (and its descriptor reused) during the call.
func (c *wsConn) epollCtl(op int) error {
	o, _ := c.h.poll.ops.Get().(*epollOp)
	if o == nil {
		o = new(epollOp)
		o.fn = o.ctl
	}
	o.epfd, o.op = c.pollFD, op
	o.ev = syscall.EpollEvent{Events: pollEvents, Fd: int32(uint32(c.pollID)), Pad: int32(uint32(c.pollID >> 32))}
	err := c.raw.Control(o.fn)
	cerr := o.err
	o.err = nil
	c.h.poll.ops.Put(o)
	if err != nil {
		return err
	}
	return cerr
}

// epollOp is one epoll_ctl call run through RawConn.Control, its function
// bound once: a closure per call would allocate it, the event and the
// error on every re-arm, that is on every message.
type epollOp struct {
	epfd, op int
	ev       syscall.EpollEvent
	err      error
	fn       func(fd uintptr) // o.ctl
}

func (o *epollOp) ctl(fd uintptr) { o.err = syscall.EpollCtl(o.epfd, o.op, int(fd), &o.ev) }

// arm re-arms c after a reading turn; c.mu is held.
func (c *wsConn) arm() error { return c.epollCtl(syscall.EPOLL_CTL_MOD) }
