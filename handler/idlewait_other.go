//go:build !linux

package handler

import (
	"bufio"
	"net"
	"syscall"
)

// setIdleWait is a no-op off Linux: the reader blocks in gorilla's read.
func (c *wsConn) setIdleWait(*bufio.Reader) {}

// writeNow is never called off Linux (no idle wait, so no raw socket): every
// write goes through the pooled writer.
// iovec is unused off Linux: writes go through net.Conn.
type iovec struct{}

func writeNow(syscall.RawConn, *batch) error { return errNoRawConn }

// Read is the connection's: off Linux there are no hot sessions.
func (g *guardedConn) Read(p []byte) (int, error) { return g.Conn.Read(p) }

func plainSocket(net.Conn) bool { return false }

func (c *wsConn) hot() (more, gone bool, err error) { return false, false, nil }
