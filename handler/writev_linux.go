//go:build linux

package handler

import (
	"syscall"
	"unsafe"
)

// iovec is one segment of a writev.
type iovec = syscall.Iovec

// maxIov is the most segments one writev takes (IOV_MAX).
const maxIov = 1024

// writeNow writes as much of b as the socket takes without blocking; what
// is left stays in b.rest. It runs the write in RawConn.Control, which only
// keeps the descriptor from being closed meanwhile: writev never waits for
// the socket, so RawConn.Write's readiness bookkeeping (a look at the
// runtime's poll descriptor, a cache miss per connection in a broadcast)
// is not needed, and the handler's write lock already keeps writes apart.
// Unlike RawConn.Write, it does not stop at an expired write deadline: the
// caller checks what the deadline stands for (a slow consumer's close).
func writeNow(raw syscall.RawConn, b *batch) error {
	if b.writeFD == nil {
		b.writeFD = b.writevNow // bound once per pooled batch, not per write
	}
	err := raw.Control(b.writeFD)
	werr := b.werr
	b.werr = nil
	if err != nil {
		return err
	}
	return werr
}

// writevNow is writev for RawConn.Control.
func (b *batch) writevNow(fd uintptr) { b.writev(fd) }

// writev writes b.rest to fd until it is written or the socket is full,
// never waiting, with write(2) when it is one segment and writev(2)
// otherwise; a failure is left in b.werr.
func (b *batch) writev(fd uintptr) bool {
	for !b.done() {
		b.iov = b.iov[:0]
		for _, s := range b.rest {
			if len(s) == 0 {
				continue
			}
			v := syscall.Iovec{Base: &s[0]}
			v.SetLen(len(s))
			b.iov = append(b.iov, v)
			if len(b.iov) == maxIov {
				break
			}
		}
		if len(b.iov) == 0 {
			b.rest = nil
			break
		}
		var n uintptr
		var errno syscall.Errno
		if len(b.iov) == 1 {
			// One segment (a lone small frame, as a broadcast's): a plain
			// write, which spares the kernel importing an iovec array.
			n, _, errno = syscall.Syscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(b.iov[0].Base)), uintptr(b.iov[0].Len))
		} else {
			n, _, errno = syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&b.iov[0])), uintptr(len(b.iov)))
		}
		switch errno {
		case 0:
			b.consume(int(n))
		case syscall.EINTR:
		case syscall.EAGAIN:
			return true // full: the rest is for the writer
		default:
			b.werr = errno
			return true
		}
	}
	return true // never wait here
}
