//go:build linux

package load

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/bench/internal/rawws"
)

// pollConn is one connection of the event-loop client.
type pollConn struct {
	fd    int
	ref   int
	start time.Time
	in    []byte // bytes read, not yet a whole frame (a window of inBuf)
	inBuf []byte
	out   []byte
}

// pollLoops drives all connections from one goroutine with epoll: a
// response is read and the next request written in the order the kernel
// reports them ready, without a goroutine per connection.
func pollLoops(ctx context.Context, conns []*websocket.Conn, cfg RoundTripConfig, from, end time.Time) ([]time.Duration, Errors) {
	var errs Errors
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		errs.Add(err)
		return nil, errs
	}
	defer syscall.Close(epfd)
	pcs := make([]*pollConn, len(conns))
	for i, c := range conns {
		sc, ok := c.NetConn().(syscall.Conn)
		if !ok {
			errs.Add(errors.New("poll client: not a socket"))
			return nil, errs
		}
		raw, err := sc.SyscallConn()
		if err != nil {
			errs.Add(err)
			return nil, errs
		}
		pc := &pollConn{ref: 1}
		raw.Control(func(fd uintptr) { pc.fd = int(fd) })
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(i)}
		if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, pc.fd, &ev); err != nil {
			errs.Add(err)
			return nil, errs
		}
		pcs[i] = pc
	}
	send := func(pc *pollConn) error {
		pc.ref++
		payload := rtFrame(cfg, pc.ref)
		pc.out = rawws.AppendText(pc.out[:0], payload, [4]byte{0x5e, 0xa1, 0xc3, 0x07})
		pc.start = time.Now()
		for len(pc.out) > 0 {
			n, err := syscall.Write(pc.fd, pc.out)
			if err == syscall.EAGAIN || err == syscall.EINTR {
				continue
			}
			if err != nil {
				return err
			}
			pc.out = pc.out[n:]
		}
		return nil
	}
	outstanding := 0
	for _, pc := range pcs {
		if err := send(pc); err != nil {
			errs.Add(err)
			return nil, errs
		}
		outstanding++
	}
	var lats []time.Duration
	events := make([]syscall.EpollEvent, len(pcs))
	buf := make([]byte, 64<<10)
	stopAt := end.Add(5 * time.Second)
	for outstanding > 0 && ctx.Err() == nil {
		if time.Now().After(stopAt) {
			errs.Add(fmt.Errorf("poll client: %d responses missing", outstanding))
			break
		}
		n, err := syscall.EpollWait(epfd, events, 100)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			errs.Add(err)
			break
		}
		for _, ev := range events[:n] {
			pc := pcs[ev.Fd]
			k, err := syscall.Read(pc.fd, buf)
			if err == syscall.EAGAIN || err == syscall.EINTR {
				continue
			}
			if err != nil || k == 0 {
				errs.Add(fmt.Errorf("poll client: read: %v", err))
				return lats, errs
			}
			pc.in = append(pc.in, buf[:k]...)
			for {
				payload, rest, ok := cutFrame(pc.in)
				if !ok {
					break
				}
				pc.in = rest
				done, err := rtAnswered(cfg, payload, pc.ref)
				if err != nil {
					errs.Add(err)
				}
				if !done {
					continue
				}
				now := time.Now()
				if pc.start.After(from) {
					lats = append(lats, now.Sub(pc.start))
				}
				outstanding--
				if now.Before(end) {
					if err := send(pc); err != nil {
						errs.Add(err)
						return lats, errs
					}
					outstanding++
				}
			}
			// Keep what is left of a partial frame at the start of the
			// connection's own buffer, so reading allocates nothing.
			pc.inBuf = append(pc.inBuf[:0], pc.in...)
			pc.in = pc.inBuf
		}
	}
	return lats, errs
}

// cutFrame splits the first whole unmasked server frame off b.
func cutFrame(b []byte) (payload, rest []byte, ok bool) {
	if len(b) < 2 {
		return nil, b, false
	}
	n, h := uint64(b[1]&0x7f), 2
	switch n {
	case 126:
		if len(b) < 4 {
			return nil, b, false
		}
		n, h = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return nil, b, false
		}
		n, h = binary.BigEndian.Uint64(b[2:]), 10
	}
	if uint64(len(b)-h) < n {
		return nil, b, false
	}
	end := h + int(n)
	return b[h:end], b[end:], true
}
