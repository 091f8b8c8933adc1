package client

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
)

// dispatcher runs user callbacks one at a time, in order, on its own
// goroutine. The socket loop only appends to its queue and never waits for
// it, so callbacks may block or call back into the Socket.
type dispatcher struct {
	mu    sync.Mutex
	queue []func()
	wake  chan struct{}
	done  chan struct{} // closed when run returns
	gid   atomic.Uint64 // goroutine id of run, for Close from a callback
}

func newDispatcher() *dispatcher {
	return &dispatcher{wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (d *dispatcher) enqueue(fn func()) {
	d.mu.Lock()
	d.queue = append(d.queue, fn)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// run executes queued callbacks until stop is closed; callbacks still queued
// then are dropped.
func (d *dispatcher) run(stop <-chan struct{}) {
	defer close(d.done)
	d.gid.Store(goroutineID())
	for {
		select {
		case <-stop:
			return
		case <-d.wake:
		}
		for {
			select {
			case <-stop:
				return
			default:
			}
			d.mu.Lock()
			if len(d.queue) == 0 {
				d.mu.Unlock()
				break
			}
			fn := d.queue[0]
			d.queue[0] = nil
			d.queue = d.queue[1:]
			d.mu.Unlock()
			fn()
		}
	}
}

// onDispatcher reports whether the caller runs inside a callback.
func (d *dispatcher) onDispatcher() bool {
	return d.gid.Load() == goroutineID()
}

// goroutineID parses the current goroutine's id from its stack header
// ("goroutine 17 [running]:"). Only Close uses it, to avoid waiting for the
// callback goroutine from within a callback.
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}
