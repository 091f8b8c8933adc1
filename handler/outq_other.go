//go:build !linux

package handler

import "net"

// unsent cannot be known off Linux.
func unsent(net.Conn) (int, bool) { return 0, false }
