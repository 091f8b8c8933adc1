package phx

import (
	"context"
	"time"
)

// drain closes sessions with [ErrShutdown] in batches of
// Config.DrainBatchSize, pausing Config.DrainInterval between batches, so
// that the clients of a node being deployed reconnect to the others in
// waves. When ctx ends, whatever is left is closed at once.
func (e *Endpoint) drain(ctx context.Context, sessions []*Session) {
	size, pause := e.cfg.DrainBatchSize, e.cfg.DrainInterval
	var t *time.Timer
	for len(sessions) > 0 {
		n := min(size, len(sessions))
		for _, s := range sessions[:n] {
			s.Close(ErrShutdown)
		}
		sessions = sessions[n:]
		if len(sessions) == 0 {
			break
		}
		if t == nil {
			t = time.NewTimer(pause)
			defer t.Stop()
		} else {
			t.Reset(pause)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			size = len(sessions)
		}
	}
}
