package client

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
)

// dispatcher runs user callbacks one at a time, in order, on a goroutine of
// its own that exists only while callbacks are queued (an idle Socket keeps
// none). The socket loop only appends to the queue and never waits for it,
// so callbacks may block or call back into the Socket.
type dispatcher struct {
	stop <-chan struct{} // closed by Socket.Close: queued callbacks are dropped

	mu      sync.Mutex
	queue   []func()
	running bool // a run goroutine is draining the queue
	closed  bool // close was called: no new run goroutine
	wg      sync.WaitGroup
	gid     atomic.Uint64 // goroutine id of the running run, for Close from a callback
}

func newDispatcher(stop <-chan struct{}) *dispatcher {
	return &dispatcher{stop: stop}
}

func (d *dispatcher) enqueue(fn func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.queue = append(d.queue, fn)
	if !d.running {
		d.running = true
		d.wg.Add(1)
		go d.run()
	}
}

// run executes queued callbacks until the queue is empty or the Socket is
// closed; callbacks still queued then are dropped.
func (d *dispatcher) run() {
	defer d.wg.Done()
	d.gid.Store(goroutineID())
	for {
		d.mu.Lock()
		stopped := d.closed
		select {
		case <-d.stop:
			stopped = true
		default:
		}
		if stopped || len(d.queue) == 0 {
			d.queue = nil
			d.running = false
			d.gid.Store(0)
			d.mu.Unlock()
			return
		}
		fn := d.queue[0]
		d.queue[0] = nil
		d.queue = d.queue[1:]
		d.mu.Unlock()
		fn()
	}
}

// close drops queued callbacks and waits for the one running, unless it is
// called from a callback.
func (d *dispatcher) close() {
	d.mu.Lock()
	d.closed = true
	d.queue = nil
	d.mu.Unlock()
	if !d.onDispatcher() {
		d.wg.Wait()
	}
}

// onDispatcher reports whether the caller runs inside a callback.
func (d *dispatcher) onDispatcher() bool {
	id := d.gid.Load()
	return id != 0 && id == goroutineID()
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
