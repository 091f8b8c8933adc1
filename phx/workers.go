package phx

import "time"

// workerIdle is how long a pool worker waits for another channel to drain
// before it exits. Short enough that an idle endpoint has no goroutine left
// soon after its last event, long enough that a busy one reuses its workers
// (and their grown stacks) instead of starting a goroutine per event.
const workerIdle = 100 * time.Millisecond

// workerPool runs channel drains on reused goroutines. A channel with work
// is handed to an idle worker if one is waiting, otherwise a new worker
// starts, so a blocking callback never delays other channels. Each channel
// is drained by one worker at a time (Channel.running), which keeps its
// callbacks in order; idle channels hold no goroutine.
type workerPool struct {
	handoff chan *Channel // unbuffered: a send succeeds only to a waiting worker
	stop    chan struct{} // closed by Shutdown: idle workers exit at once
}

// run drains c on an idle worker or a new one. It never blocks, so callers
// may hold c.mu.
func (p *workerPool) run(c *Channel) {
	select {
	case p.handoff <- c:
	default:
		go p.work(c)
	}
}

func (p *workerPool) work(c *Channel) {
	var t *time.Timer
	for {
		c.drain()
		c = nil
		if t == nil {
			t = time.NewTimer(workerIdle)
		} else {
			t.Reset(workerIdle)
		}
		select {
		case c = <-p.handoff:
		case <-t.C:
			return
		case <-p.stop:
			return
		}
	}
}
