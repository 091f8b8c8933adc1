package cluster_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seance-go/seance/cluster"
)

// TestFence: per name, a token below the greatest admitted is refused;
// equal and greater pass; names are independent; Forget starts over.
func TestFence(t *testing.T) {
	var f cluster.Fence
	steps := []struct {
		name  string
		token uint64
		want  bool
	}{
		{"a", 5, true}, {"a", 5, true}, {"a", 4, false}, {"a", 7, true}, {"a", 6, false},
		{"b", 1, true},
	}
	for _, s := range steps {
		if got := f.Admit(s.name, s.token); got != s.want {
			t.Errorf("Admit(%s, %d) = %v, want %v", s.name, s.token, got, s.want)
		}
	}
	f.Forget("a")
	if !f.Admit("a", 1) {
		t.Error("after Forget a low token must pass")
	}
}

// TestPollWatch: the first state, then only changes of holder or token
// (not of Rev alone); the channel closes when ctx ends.
func TestPollWatch(t *testing.T) {
	var cur atomic.Pointer[cluster.Lease]
	var calls atomic.Int64
	set := func(l cluster.Lease) { cur.Store(&l) }
	set(cluster.Lease{Name: "x"})
	get := func(ctx context.Context, name string) (cluster.Lease, error) {
		calls.Add(1)
		return *cur.Load(), nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := cluster.PollWatch(ctx, "x", time.Millisecond, get)
	if l := <-ch; l.Held() {
		t.Fatalf("first: %+v", l)
	}
	set(cluster.Lease{Name: "x", Holder: "a", Token: 1})
	if l := <-ch; l.Holder != "a" || l.Token != 1 {
		t.Fatalf("second: %+v", l)
	}
	set(cluster.Lease{Name: "x", Holder: "a", Token: 1, Rev: 9})
	for n := calls.Load() + 3; calls.Load() < n; {
		time.Sleep(time.Millisecond)
	}
	set(cluster.Lease{Name: "x", Holder: "b", Token: 2})
	if l := <-ch; l.Holder != "b" || l.Token != 2 {
		t.Fatalf("third: %+v (a change of Rev alone must not be sent)", l)
	}
	cancel()
	for range ch {
	}
}
