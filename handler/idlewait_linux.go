//go:build linux

package handler

import (
	"bufio"
	"crypto/tls"
	"syscall"
)

// setIdleWait enables the idle wait when the connection is a socket the
// runtime polls (TCP, Unix), bare or under crypto/tls: the handler's poller
// then watches it while it is idle. Other connections read on a goroutine
// of their own.
func (c *wsConn) setIdleWait(br *bufio.Reader) {
	nc := c.conn.NetConn()
	tlsConn := false
	if g, ok := nc.(*guardedConn); ok {
		if tc, ok := g.Conn.(*tls.Conn); ok {
			nc, tlsConn = tc.NetConn(), true
		}
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	c.br, c.raw, c.tls = br, raw, tlsConn
}
