package adaptertest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/seance-go/seance/cluster"
)

// RunLeaserConformance runs, as subtests of t, the behaviour every
// cluster.Leaser must have. newLeaser returns a Leaser with the given TTL
// on a store of its own (a fresh namespace or bucket) or shared by the
// calls of one subtest.
func RunLeaserConformance(t *testing.T, newLeaser func(t *testing.T, ttl time.Duration) cluster.Leaser) {
	t.Run("Exclusive", func(t *testing.T) { testLeaseExclusive(t, newLeaser(t, 10*time.Second)) })
	t.Run("Renew", func(t *testing.T) { testLeaseRenew(t, newLeaser(t, time.Second)) })
	t.Run("Takeover", func(t *testing.T) { testLeaseTakeover(t, newLeaser(t, time.Second)) })
	t.Run("Release", func(t *testing.T) { testLeaseRelease(t, newLeaser(t, 10*time.Second)) })
	t.Run("Watch", func(t *testing.T) { testLeaseWatch(t, newLeaser(t, time.Second)) })
}

func leaseCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// testLeaseExclusive: of many holders acquiring one name at once, exactly
// one gets it; the others see it held by the winner.
func testLeaseExclusive(t *testing.T, l cluster.Leaser) {
	ctx := leaseCtx(t)
	const n = 16
	var wg sync.WaitGroup
	leases := make([]cluster.Lease, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			leases[i], errs[i] = l.Acquire(ctx, "board:1", fmt.Sprintf("node-%d", i))
		}()
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("both node-%d and node-%d acquired the lease", winner, i)
			}
			winner = i
		case !errors.Is(err, cluster.ErrHeld):
			t.Fatalf("node-%d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("nobody acquired the lease")
	}
	w := leases[winner]
	if w.Holder != fmt.Sprintf("node-%d", winner) || w.Name != "board:1" || w.Token == 0 {
		t.Fatalf("winner's lease %+v", w)
	}
	for i, lease := range leases {
		if i != winner && (lease.Holder != w.Holder || lease.Token != w.Token) {
			t.Errorf("node-%d saw %+v, want the winner's %+v", i, lease, w)
		}
	}
	// The holder acquiring again keeps its token; another name is free.
	again, err := l.Acquire(ctx, "board:1", w.Holder)
	if err != nil || again.Token != w.Token {
		t.Errorf("re-acquire by the holder: %+v, %v", again, err)
	}
	if got, err := l.Get(ctx, "board:1"); err != nil || got.Holder != w.Holder || got.Token != w.Token {
		t.Errorf("Get = %+v, %v", got, err)
	}
	if got, err := l.Get(ctx, "board:2"); err != nil || got.Held() {
		t.Errorf("Get of a free name = %+v, %v", got, err)
	}
	if _, err := l.Acquire(ctx, "board:2", "node-x"); err != nil {
		t.Errorf("another name: %v", err)
	}
}

// testLeaseRenew: a lease renewed well within its TTL outlives several TTLs.
func testLeaseRenew(t *testing.T, l cluster.Leaser) {
	ctx := leaseCtx(t)
	a, err := l.Acquire(ctx, "board:1", "a")
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now().Add(3 * l.TTL())
	for time.Now().Before(end) {
		time.Sleep(l.TTL() / 4)
		if a, err = l.Renew(ctx, a); err != nil {
			t.Fatalf("Renew: %v", err)
		}
		if _, err := l.Acquire(ctx, "board:1", "b"); !errors.Is(err, cluster.ErrHeld) {
			t.Fatalf("Acquire by b while a renews: %v", err)
		}
	}
}

// testLeaseTakeover: a lease not renewed expires, another holder takes it
// with a greater token, and the stale holder is refused: its Renew and
// Release fail with ErrLost and a Fence drops its token.
func testLeaseTakeover(t *testing.T, l cluster.Leaser) {
	ctx := leaseCtx(t)
	a, err := l.Acquire(ctx, "board:1", "a")
	if err != nil {
		t.Fatal(err)
	}
	var fence cluster.Fence
	if !fence.Admit("board:1", a.Token) {
		t.Fatal("fence refused the first token")
	}
	var b cluster.Lease
	WaitFor(t, 10*l.TTL(), "the lease to expire", func() bool {
		b, err = l.Acquire(ctx, "board:1", "b")
		if err != nil && !errors.Is(err, cluster.ErrHeld) {
			t.Fatal(err)
		}
		return err == nil
	})
	if b.Token <= a.Token {
		t.Fatalf("new holder's token %d not greater than the stale one's %d", b.Token, a.Token)
	}
	if _, err := l.Renew(ctx, a); !errors.Is(err, cluster.ErrLost) {
		t.Errorf("stale Renew: %v, want ErrLost", err)
	}
	if err := l.Release(ctx, a); !errors.Is(err, cluster.ErrLost) {
		t.Errorf("stale Release: %v, want ErrLost", err)
	}
	if got, err := l.Get(ctx, "board:1"); err != nil || got.Holder != "b" || got.Token != b.Token {
		t.Errorf("after the stale calls: %+v, %v", got, err)
	}
	if !fence.Admit("board:1", b.Token) || fence.Admit("board:1", a.Token) {
		t.Error("fence: the new token must pass and the stale one be refused")
	}
	if _, err := l.Renew(ctx, b); err != nil {
		t.Errorf("new holder's Renew: %v", err)
	}
}

// testLeaseRelease: a released name is free at once; the next holder's
// token is greater.
func testLeaseRelease(t *testing.T, l cluster.Leaser) {
	ctx := leaseCtx(t)
	a, err := l.Acquire(ctx, "board:1", "a")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Release(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Renew(ctx, a); !errors.Is(err, cluster.ErrLost) {
		t.Errorf("Renew after Release: %v", err)
	}
	b, err := l.Acquire(ctx, "board:1", "b")
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	if b.Token <= a.Token {
		t.Errorf("token %d after %d", b.Token, a.Token)
	}
}

// testLeaseWatch: Watch reports the holder, its release and the next holder.
func testLeaseWatch(t *testing.T, l cluster.Leaser) {
	ctx, cancel := context.WithCancel(leaseCtx(t))
	a, err := l.Acquire(ctx, "board:1", "a")
	if err != nil {
		t.Fatal(err)
	}
	ch, err := l.Watch(ctx, "board:1")
	if err != nil {
		t.Fatal(err)
	}
	next := func(what string, ok func(cluster.Lease) bool) {
		t.Helper()
		timeout := time.After(10 * l.TTL())
		for {
			select {
			case got := <-ch:
				if ok(got) {
					return
				}
			case <-timeout:
				t.Fatalf("Watch: no %s", what)
			}
		}
	}
	next("holder a", func(x cluster.Lease) bool { return x.Holder == "a" && x.Token == a.Token })
	if err := l.Release(ctx, a); err != nil {
		t.Fatal(err)
	}
	next("free name", func(x cluster.Lease) bool { return !x.Held() })
	b, err := l.Acquire(ctx, "board:1", "b")
	if err != nil {
		t.Fatal(err)
	}
	next("holder b", func(x cluster.Lease) bool { return x.Holder == "b" && x.Token == b.Token })
	cancel()
	for range ch { // closed when ctx ends
	}
}
