//go:build linux

package handler

import (
	"bufio"
	"syscall"
	"unsafe"
)

// setIdleWait enables the idle wait when the connection is a socket the
// runtime polls (TCP, Unix); TLS connections and others read directly.
func (c *wsConn) setIdleWait(br *bufio.Reader) {
	sc, ok := c.conn.NetConn().(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	c.br, c.raw = br, raw
	c.ready = func(fd uintptr) bool {
		// The first call of a wait peeks; a later one follows a wake-up by
		// the runtime's poller, which reports the socket readable (data, end
		// of stream or an error): no need to ask the kernel again.
		c.polls++
		if c.polls > 1 {
			return true
		}
		// Peek one byte without consuming it: anything but "would block"
		// (data, end of stream, an error) is for gorilla to read.
		var b byte
		_, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b)), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		return errno != syscall.EAGAIN
	}
}
