//go:build !linux

package handler

import "bufio"

// setIdleWait is a no-op off Linux: the reader blocks in gorilla's read.
func (c *wsConn) setIdleWait(*bufio.Reader) {}
