package cluster

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Lease is a time-limited, exclusive hold of a name (a shared topic, say)
// by one holder (a node), granted by a [Leaser].
type Lease struct {
	// Name is what is held; Holder who holds it.
	Name, Holder string
	// Token is the fencing token of this holding: every new holding of a
	// name gets a greater token than all before it, and it stays the same
	// while the holder renews. Whatever a holder writes or sends should
	// carry it, so that receivers refuse a stale holder's late words (see
	// [Fence]).
	Token uint64
	// Rev is the Leaser's revision of the lease record, which it compares
	// on Renew and Release: pass the Lease returned by the last Acquire or
	// Renew.
	Rev uint64
}

// Held reports whether the lease has a holder (Get and Watch return a
// Lease with an empty Holder for a free name).
func (l Lease) Held() bool { return l.Holder != "" }

// Errors of a [Leaser].
var (
	// ErrHeld: Acquire found the name held by another holder.
	ErrHeld = errors.New("cluster: lease held by another holder")
	// ErrLost: Renew or Release found the lease expired or taken over;
	// its holder must stop acting for the name at once.
	ErrLost = errors.New("cluster: lease lost")
)

// Leaser grants leases on names, from a store the cluster already runs
// (the PubSub adapters' modules implement it on Redis and on NATS
// JetStream KV), so that at most one holder acts for a name at a time
// without a consensus protocol of our own. A lease lasts TTL from its last
// Acquire or Renew; a holder renews it well before (every TTL/3, say) and,
// when a Renew fails or cannot be made in time, stops acting: past TTL
// another holder may have it. Fencing tokens ([Lease].Token) cover the
// window where a stalled holder does not know yet.
type Leaser interface {
	// TTL is how long a lease lasts without renewal.
	TTL() time.Duration
	// Acquire takes name for holder if it is free (or already holder's:
	// the lease is then renewed and returned). When another holder has
	// it, Acquire returns that holder's lease and [ErrHeld].
	Acquire(ctx context.Context, name, holder string) (Lease, error)
	// Renew extends l by TTL and returns it with its new Rev, or fails
	// with [ErrLost] when l is no longer the current lease of its name.
	Renew(ctx context.Context, l Lease) (Lease, error)
	// Release frees l's name at once, if l is still its current lease
	// (else [ErrLost], and nothing changes).
	Release(ctx context.Context, l Lease) error
	// Get returns the current lease of name; a free name gives a Lease
	// with an empty Holder and no error.
	Get(ctx context.Context, name string) (Lease, error)
	// Watch sends the current lease of name, then each change of holder or
	// token (a free name as a Lease with an empty Holder; an expiry is
	// seen within the Leaser's watch interval), until ctx ends, when the
	// channel is closed. A slow reader only misses intermediate states: it
	// always gets the latest.
	Watch(ctx context.Context, name string) (<-chan Lease, error)
}

// PollWatch implements [Leaser].Watch for a store without change
// notifications that cover expiry: it calls get every interval and sends
// each change of holder or token. Errors of get are retried at the next
// tick.
func PollWatch(ctx context.Context, name string, interval time.Duration, get func(ctx context.Context, name string) (Lease, error)) <-chan Lease {
	out := make(chan Lease, 1)
	go func() {
		defer close(out)
		t := time.NewTicker(interval)
		defer t.Stop()
		var last Lease
		first := true
		for {
			if l, err := get(ctx, name); err == nil && (first || l.Holder != last.Holder || l.Token != last.Token) {
				first, last = false, l
				// Latest wins: replace an unread value.
				select {
				case <-out:
				default:
				}
				out <- l
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// Fence refuses the words of stale lease holders: it remembers, per name,
// the greatest fencing token it admitted. Its zero value is ready to use
// and safe for concurrent use.
type Fence struct {
	mu  sync.Mutex
	max map[string]uint64
}

// Admit reports whether token is at least the greatest admitted for name
// so far, and records it. A frame or write carrying a lower token comes
// from a holder that lost the lease: drop it.
func (f *Fence) Admit(name string, token uint64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if token < f.max[name] {
		return false
	}
	if f.max == nil {
		f.max = map[string]uint64{}
	}
	f.max[name] = token
	return true
}

// Forget drops what the Fence knows of name (when it stops caring about it,
// to bound its memory).
func (f *Fence) Forget(name string) {
	f.mu.Lock()
	delete(f.max, name)
	f.mu.Unlock()
}
