//go:build linux

package handler

import (
	"net"
	"syscall"
	"unsafe"
)

// unsent reports how many bytes written to nc the peer has not acknowledged
// yet (SIOCOUTQ); ok is false when that cannot be known (not a socket).
func unsent(nc net.Conn) (n int, ok bool) {
	if tc, isTLS := nc.(interface{ NetConn() net.Conn }); isTLS {
		nc = tc.NetConn()
	}
	sc, isSock := nc.(syscall.Conn)
	if !isSock {
		return 0, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var v int32
	var errno syscall.Errno
	if err := raw.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&v)))
	}); err != nil || errno != 0 {
		return 0, false
	}
	return int(v), true
}
