package cluster_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seance-go/seance/cluster"
	"github.com/seance-go/seance/internal/membus"
	"github.com/seance-go/seance/phx"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// pair starts two endpoints on one in-memory bus with a Node each.
func pair(t *testing.T, opts cluster.Options) (a, b *cluster.Node, bus *membus.Bus) {
	t.Helper()
	return pairWith(t, opts, opts)
}

// pairWith is pair with different options for a and b.
func pairWith(t *testing.T, optsA, optsB cluster.Options) (a, b *cluster.Node, bus *membus.Bus) {
	t.Helper()
	bus = membus.New()
	return newNode(t, bus.Node("a"), optsA), newNode(t, bus.Node("b"), optsB), bus
}

// newNode starts an endpoint on ps with a Node, both closed when t ends.
func newNode(t *testing.T, ps phx.PubSub, opts cluster.Options) *cluster.Node {
	t.Helper()
	ep := phx.NewEndpoint(phx.Config{PubSub: ps, Logger: quiet})
	n := cluster.New(ep, opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := n.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := ep.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return n
}

func TestRequest(t *testing.T) {
	a, b, _ := pair(t, cluster.Options{RelayTimeout: 300 * time.Millisecond})
	b.Handle("echo", func(ctx context.Context, from string, req []byte) ([]byte, error) {
		return append([]byte(from+":"), req...), nil
	})
	b.Handle("fail", func(ctx context.Context, from string, req []byte) ([]byte, error) {
		return nil, errors.New("no such thing")
	})
	// Slower than RelayTimeout: the acknowledgement keeps the caller waiting.
	b.Handle("slow", func(ctx context.Context, from string, req []byte) ([]byte, error) {
		select {
		case <-time.After(900 * time.Millisecond):
			return []byte("late"), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	ctx := context.Background()
	got, err := a.Request(ctx, "b", "echo", []byte("hi"))
	if err != nil || string(got) != "a:hi" {
		t.Fatalf("echo = %q, %v", got, err)
	}
	if _, err := a.Request(ctx, "b", "fail", nil); err == nil || err.Error() != "no such thing" {
		t.Errorf("fail: %v", err)
	}
	if _, err := a.Request(ctx, "b", "nothing", nil); !errors.Is(err, cluster.ErrNoHandler) {
		t.Errorf("unknown service: %v, want ErrNoHandler", err)
	}
	if got, err := a.Request(ctx, "b", "slow", nil); err != nil || string(got) != "late" {
		t.Errorf("slow = %q, %v", got, err)
	}
	if _, err := a.Request(ctx, "nobody", "echo", nil); !errors.Is(err, cluster.ErrUnreachable) {
		t.Errorf("unknown node: %v, want ErrUnreachable", err)
	}
	// Its own name runs the local handler.
	a.Handle("self", func(ctx context.Context, from string, req []byte) ([]byte, error) { return []byte("me"), nil })
	if got, err := a.Request(ctx, "a", "self", nil); err != nil || string(got) != "me" {
		t.Errorf("self = %q, %v", got, err)
	}
	// The caller's context bounds the wait once acknowledged.
	cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if _, err := a.Request(cctx, "b", "slow", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow with a short context: %v", err)
	}
}

// A node that dies is unreachable after RelayTimeout, even mid-request.
func TestRequestNodeGone(t *testing.T) {
	a, b, bus := pair(t, cluster.Options{RelayTimeout: 200 * time.Millisecond})
	started := make(chan struct{})
	b.Handle("hang", func(ctx context.Context, from string, req []byte) ([]byte, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	// Cut b while it works on the request, before its acknowledgement.
	errc := make(chan error, 1)
	go func() {
		_, err := a.Request(context.Background(), "b", "hang", nil)
		errc <- err
	}()
	<-started
	cutNode(bus, "b")
	select {
	case err := <-errc:
		if !errors.Is(err, cluster.ErrUnreachable) {
			t.Errorf("got %v, want ErrUnreachable", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Request did not fail")
	}
}

func cutNode(bus *membus.Bus, name string) { bus.Lookup(name).Cut() }

func TestMaxInFlight(t *testing.T) {
	a, b, _ := pair(t, cluster.Options{MaxInFlight: 1, RelayTimeout: 2 * time.Second})
	checkSecondBusy(t, a, b, "ErrBusy")
}

// The serving node answers "busy" past its own MaxInFlight.
func TestMaxInFlightServed(t *testing.T) {
	a, b, _ := pairWith(t, cluster.Options{}, cluster.Options{MaxInFlight: 1})
	checkSecondBusy(t, a, b, "ErrBusy from b")
}

// checkSecondBusy holds a request from a in b's handler, checks that a
// second one fails with ErrBusy (want names the error in the failure), and
// that the first succeeds once released.
func checkSecondBusy(t *testing.T, a, b *cluster.Node, want string) {
	t.Helper()
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	b.Handle("block", func(ctx context.Context, from string, req []byte) ([]byte, error) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return []byte("ok"), nil
	})
	errc := make(chan error, 1)
	go func() {
		_, err := a.Request(context.Background(), "b", "block", nil)
		errc <- err
	}()
	<-entered
	if _, err := a.Request(context.Background(), "b", "block", nil); !errors.Is(err, cluster.ErrBusy) {
		t.Errorf("second request: %v, want %s", err, want)
	}
	close(release)
	if err := <-errc; err != nil {
		t.Errorf("first request: %v", err)
	}
}

// membershipPair is pair with a Membership (fast heartbeats) as each
// endpoint's PubSub.
func membershipPair(t *testing.T, opts cluster.Options) (a, b *cluster.Node, ma *cluster.Membership, bus *membus.Bus) {
	t.Helper()
	bus = membus.New()
	mk := func(name string) (*cluster.Node, *cluster.Membership) {
		m := cluster.NewMembership(bus.Node(name), cluster.MembershipOptions{
			Heartbeat: 20 * time.Millisecond, DownAfter: 150 * time.Millisecond, Logger: quiet,
		})
		return newNode(t, m, opts), m
	}
	a, ma = mk("a")
	b, _ = mk("b")
	return a, b, ma, bus
}

// waitUp waits until m sees node as up (want true) or down.
func waitUp(t *testing.T, m *cluster.Membership, node string, want bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); m.Up(node) != want; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never went up=%v", node, want)
		}
	}
}

// With a Membership, a request to a node declared down fails at once
// instead of after RelayTimeout (a minute here), and works again once the
// node is heard again.
func TestRequestToDownNodeFailsAtOnce(t *testing.T) {
	a, b, ma, bus := membershipPair(t, cluster.Options{RelayTimeout: time.Minute})
	b.Handle("echo", func(_ context.Context, _ string, req []byte) ([]byte, error) { return req, nil })
	waitUp(t, ma, "b", true)
	if got, err := a.Request(context.Background(), "b", "echo", []byte("1")); err != nil || string(got) != "1" {
		t.Fatalf("Request = %q, %v", got, err)
	}
	cutNode(bus, "b")
	waitUp(t, ma, "b", false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.Request(ctx, "b", "echo", []byte("2")); !errors.Is(err, cluster.ErrUnreachable) {
		t.Fatalf("Request to a node down = %v, want ErrUnreachable", err)
	}
	bus.Lookup("b").Restore()
	waitUp(t, ma, "b", true)
	if got, err := a.Request(ctx, "b", "echo", []byte("3")); err != nil || string(got) != "3" {
		t.Fatalf("Request once b is back = %q, %v", got, err)
	}
}

// A request the node acknowledged (so RelayTimeout no longer bounds it)
// fails when the Membership declares the node down, not when the caller's
// context ends.
func TestAcknowledgedRequestFailsWhenNodeGoesDown(t *testing.T) {
	const relay = 150 * time.Millisecond
	a, b, ma, bus := membershipPair(t, cluster.Options{RelayTimeout: relay})
	started := make(chan struct{})
	b.Handle("hang", func(ctx context.Context, _ string, _ []byte) ([]byte, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	waitUp(t, ma, "b", true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := a.Request(ctx, "b", "hang", nil)
		errc <- err
	}()
	<-started
	// Still waiting well past RelayTimeout: the acknowledgement came.
	select {
	case err := <-errc:
		t.Fatalf("Request ended before the node went down: %v", err)
	case <-time.After(3 * relay):
	}
	cutNode(bus, "b")
	select {
	case err := <-errc:
		if !errors.Is(err, cluster.ErrUnreachable) {
			t.Errorf("got %v, want ErrUnreachable", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Request still waiting after the node went down")
	}
	bus.Lookup("b").Restore() // b's handler ends when its node closes
}
