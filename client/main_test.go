package client_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seance-go/seance/client"
	"github.com/seance-go/seance/client/internal/phxtest"
)

// TestMain fails the run if any test leaves a goroutine behind: Close must
// stop everything a Socket started.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), phxtest.Wait)
	t.Cleanup(cancel)
	return ctx
}

// fast returns options with quick backoffs and no heartbeats, so tests are
// driven only by the frames they script.
func fast(o *client.Options) *client.Options {
	if o == nil {
		o = &client.Options{}
	}
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = -1
	}
	if o.ReconnectAfter == nil {
		o.ReconnectAfter = func(int) time.Duration { return time.Millisecond }
	}
	if o.RejoinAfter == nil {
		o.RejoinAfter = func(int) time.Duration { return time.Millisecond }
	}
	return o
}

func dial(t *testing.T, srv *phxtest.Server, o *client.Options) *client.Socket {
	t.Helper()
	s, err := client.Dial(testCtx(t), srv.URL, fast(o))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// recv waits for one value from c.
func recv[T any](t *testing.T, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(phxtest.Wait):
		t.Fatalf("nothing received within %v", phxtest.Wait)
		var zero T
		return zero
	}
}

type joinOutcome struct {
	resp []byte
	err  error
}

// goJoin starts a blocking Join in the background.
func goJoin(t *testing.T, ch *client.Channel) <-chan joinOutcome {
	out := make(chan joinOutcome, 1)
	ctx := testCtx(t)
	go func() {
		resp, err := ch.Join(ctx)
		out <- joinOutcome{resp, err}
	}()
	return out
}

// join joins topic and answers the join with ok; it returns the channel and
// the join frame the server saw.
func join(t *testing.T, s *client.Socket, c *phxtest.Conn, topic string) (*client.Channel, phxtest.Frame) {
	t.Helper()
	ch := s.Channel(topic, nil)
	res := goJoin(t, ch)
	f := c.Expect(t, "phx_join")
	c.Reply(f, "ok", nil)
	if r := recv(t, res); r.err != nil {
		t.Fatalf("Join: %v", r.err)
	}
	return ch, f
}

type pushOutcome struct {
	reply *client.Reply
	err   error
}

func goPush(t *testing.T, ch *client.Channel, event string, payload any) <-chan pushOutcome {
	out := make(chan pushOutcome, 1)
	ctx := testCtx(t)
	go func() {
		r, err := ch.Push(ctx, event, payload)
		out <- pushOutcome{r, err}
	}()
	return out
}
