//go:build !linux

package load

import (
	"context"
	"errors"
	"time"

	"github.com/gorilla/websocket"
)

// pollLoops needs epoll: off Linux the event-loop client is not available.
func pollLoops(context.Context, []*websocket.Conn, RoundTripConfig, time.Time, time.Time) ([]time.Duration, Errors) {
	var errs Errors
	errs.Add(errors.New("the poll client needs Linux; use -client gorilla"))
	return nil, errs
}
