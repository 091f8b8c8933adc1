//go:build linux

package handler

import (
	"bufio"
	"syscall"
)

// setIdleWait enables the idle wait when the connection is a socket the
// runtime polls (TCP, Unix): the handler's poller then watches it while it
// is idle. TLS connections and others read on a goroutine of their own.
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
}
