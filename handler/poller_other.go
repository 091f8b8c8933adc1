//go:build !linux

package handler

import "time"

// poller is Linux-only: elsewhere every connection reads on a goroutine of
// its own (no raw socket is set, see idlewait_other.go).
type poller struct{}

func (*poller) init(time.Duration)    {}
func (*poller) clock(time.Time) int64 { return 0 }

func (*poller) add(*wsConn) bool { return false }
func (*poller) remove(*wsConn)   {}

func (c *wsConn) arm() error { return errNoRawConn }
func (c *wsConn) disarm()    {}
