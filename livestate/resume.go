package livestate

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/seance-go/seance/phx"
)

// ClientIDParam is the connect param that tells apart the connections of
// one identity (browser tabs) when a kept channel is resumed; see
// [Options].ResumeGrace. phoenix.js sends it with a params function that
// keeps a random id per tab:
//
//	new Socket("/socket", {params: () => ({client_id: sessionStorage.lvsId ||= crypto.randomUUID()})})
const ClientIDParam = "client_id"

// maxClientID is the longest client id taken; a longer one is ignored.
const maxClientID = 128

// ErrResumeExpired is the reason [Closer] receives when a channel kept
// after a disconnect was not resumed in time (the grace period ended, or
// it was dropped to stay within MaxKept / MaxKeptBytes). It matches
// phx.ErrDisconnected too (errors.Is), so close hooks written for
// disconnects keep working.
var ErrResumeExpired = fmt.Errorf("livestate: not resumed within the grace period: %w", phx.ErrDisconnected)

// Resumer is told when its channel resumes after a reconnect: Init does not
// run again and broadcasts sent while the client was away were not
// delivered, so a channel whose state follows another source can bring it
// up to date here. Changes to *state and emitted events are synced as for
// client events, after the kept state.
type Resumer[S any] interface {
	Resumed(ctx context.Context, s *Socket, state *S) error
}

// resumeKey is what a rejoin must match to resume a kept channel.
type resumeKey struct {
	identity any // comparable
	topic    string
	clientID string
}

// resumeKeyOf returns the key of ch's client and whether its channels can
// be resumed: they cannot without an identity (from the connect hook) or a
// client id, nor with an identity that has no comparable key.
func (h *stateHandler[S]) resumeKeyOf(ch *phx.Channel) (resumeKey, bool) {
	if h.opts.ResumeGrace <= 0 {
		return resumeKey{}, false
	}
	k := resumeKey{topic: ch.Topic()}
	info := ch.ConnectInfo()
	if id, ok := info.Params[ClientIDParam].(string); ok && len(id) <= maxClientID {
		k.clientID = id
	}
	if id := info.Identity; id != nil {
		key, ok := h.opts.IdentityKey(id)
		if !ok {
			return resumeKey{}, false
		}
		k.identity = key
	}
	if k.identity == nil && k.clientID == "" {
		return resumeKey{}, false
	}
	return k, true
}

// defaultIdentityKey is the identity itself, or what it points to, when
// that is comparable (a string, a number, a struct of such); other
// identities have no key.
func defaultIdentityKey(identity any) (any, bool) {
	v := reflect.ValueOf(identity)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, false
		}
		v = v.Elem()
	}
	if !v.IsValid() || !v.Comparable() {
		return nil, false
	}
	return v.Interface(), true
}

// keeper holds the channels of one [New] handler whose connection dropped,
// until they are resumed or their grace period ends.
type keeper[S any] struct {
	grace    time.Duration
	maxCount int
	maxBytes int64

	mu     sync.Mutex
	byKey  map[resumeKey]*list.Element // of *keptConn[S]
	order  list.List                   // oldest first
	bytes  int64
	closed bool // Registry.Shutdown: nothing more is kept
}

type keptConn[S any] struct {
	key   resumeKey
	c     *conn[S]
	size  int64
	timer *time.Timer
}

// keep parks c under k. It reports false when c cannot be kept (too large,
// or shutting down); the channels it pushed out to stay within its bounds
// are returned for their close hooks.
func (k *keeper[S]) keep(key resumeKey, c *conn[S], size int64, expire func(*keptConn[S])) (ok bool, evicted []*conn[S]) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed || size > k.maxBytes {
		return false, nil
	}
	if el, dup := k.byKey[key]; dup {
		// Another channel of the same client and topic is kept (two
		// connections dropped): the newer one wins.
		evicted = append(evicted, k.removeLocked(el).c)
	}
	for k.order.Len() > 0 && (k.order.Len() >= k.maxCount || k.bytes+size > k.maxBytes) {
		evicted = append(evicted, k.removeLocked(k.order.Front()).c)
	}
	kc := &keptConn[S]{key: key, c: c, size: size}
	if k.byKey == nil {
		k.byKey = map[resumeKey]*list.Element{}
	}
	k.byKey[key] = k.order.PushBack(kc)
	k.bytes += size
	kc.timer = time.AfterFunc(k.grace, func() { expire(kc) })
	return true, evicted
}

// take removes and returns the channel kept under key, if any.
func (k *keeper[S]) take(key resumeKey) *conn[S] {
	k.mu.Lock()
	defer k.mu.Unlock()
	el, ok := k.byKey[key]
	if !ok {
		return nil
	}
	return k.removeLocked(el).c
}

// expired removes kc if it is still kept, reporting whether it was.
func (k *keeper[S]) expired(kc *keptConn[S]) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	el, ok := k.byKey[kc.key]
	if !ok || el.Value.(*keptConn[S]) != kc {
		return false
	}
	k.removeLocked(el)
	return true
}

// drain removes every kept channel and keeps no more.
func (k *keeper[S]) drain() []*conn[S] {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.closed = true
	var out []*conn[S]
	for k.order.Len() > 0 {
		out = append(out, k.removeLocked(k.order.Front()).c)
	}
	return out
}

// stats returns how many channels are kept and the bytes of their states.
func (k *keeper[S]) stats() (int, int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.order.Len(), k.bytes
}

func (k *keeper[S]) removeLocked(el *list.Element) *keptConn[S] {
	kc := k.order.Remove(el).(*keptConn[S])
	delete(k.byKey, kc.key)
	k.bytes -= kc.size
	if kc.timer != nil {
		kc.timer.Stop()
	}
	return kc
}

// park keeps c after its connection dropped (or when a rejoin of the same
// client took it over), reporting whether it did; the close hook then runs
// only when the grace period ends.
func (h *stateHandler[S]) park(ch *phx.Channel, c *conn[S], reason error, takenOver bool) bool {
	if !c.ready || !c.keyed || !(takenOver || errors.Is(reason, phx.ErrDisconnected)) {
		return false
	}
	key := c.key
	data, err := c.sync.full(&c.state)
	if err != nil {
		return false
	}
	ok, evicted := h.kept.keep(key, c, int64(len(data)), func(kc *keptConn[S]) {
		if h.kept.expired(kc) {
			h.closed(context.Background(), kc.c, ErrResumeExpired)
		}
	})
	for _, e := range evicted {
		h.closed(context.Background(), e, ErrResumeExpired)
	}
	return ok
}

// closed runs c's close hook.
func (h *stateHandler[S]) closed(ctx context.Context, c *conn[S], reason error) {
	cl, ok := c.impl.(Closer)
	if !ok {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			c.sock.ch.Endpoint().Logger().Error("livestate: close hook panicked", "topic", c.sock.ch.Topic(), "panic", fmt.Sprint(p))
		}
	}()
	c.sock.begin(phx.Ref{}, false)
	cl.Closed(ctx, &c.sock, reason)
}

// dropKept ends the kept channels (Registry.Shutdown): their close hooks
// run with phx.ErrShutdown.
func (h *stateHandler[S]) dropKept(ctx context.Context) {
	for _, c := range h.kept.drain() {
		h.closed(ctx, c, phx.ErrShutdown)
	}
}

// keptStats implements keptCounter.
func (h *stateHandler[S]) keptStats() (int, int64) { return h.kept.stats() }

// keptDropper is what Registry.Shutdown needs of a handler that keeps
// channels.
type keptDropper interface {
	dropKept(ctx context.Context)
}

// liveSet holds the joined channels that can be resumed, by key, so that a
// rejoin arriving while the server still holds the client's previous
// connection open (it has not noticed the drop) can take the channel over.
type liveSet[S any] struct {
	mu    sync.Mutex
	byKey map[resumeKey]*conn[S]
}

// add records c as the live channel of its key (the newest wins).
func (l *liveSet[S]) add(c *conn[S]) {
	if !c.keyed {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byKey == nil {
		l.byKey = map[resumeKey]*conn[S]{}
	}
	l.byKey[c.key] = c
}

// remove forgets c when it ends; it returns the channel to close when a
// rejoin is waiting to take c over.
func (l *liveSet[S]) remove(c *conn[S]) chan struct{} {
	if !c.keyed {
		return nil // never added, so never taken over
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byKey[c.key] == c {
		delete(l.byKey, c.key)
	}
	done := c.handoff
	c.handoff = nil
	return done
}

// takeOver asks the live channel of key on another connection than by's,
// if any, to end and be kept; the returned channel is closed once it is
// (nil when there is none).
func (l *liveSet[S]) takeOver(key resumeKey, by *phx.Channel) chan struct{} {
	l.mu.Lock()
	old, ok := l.byKey[key]
	if !ok || old.sock.cur().ConnectInfo() == by.ConnectInfo() {
		// None, or one of the same connection: a duplicate join, which
		// starts afresh as in Phoenix.
		l.mu.Unlock()
		return nil
	}
	delete(l.byKey, key)
	done := make(chan struct{})
	old.handoff = done
	ch := old.sock.cur()
	l.mu.Unlock()
	if err := ch.Close(); err != nil {
		// Already ending: its Terminate sees the handoff request.
		_ = err
	}
	return done
}
