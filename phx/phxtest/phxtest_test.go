package phxtest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/phx/phxtest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// room is the channel under test; ended receives each Terminate reason.
type room struct{ ended chan error }

func (r *room) Join(ctx context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
	var p struct {
		Token string `json:"token"`
	}
	if err := params.Decode(&p); err != nil {
		return nil, err
	}
	if p.Token != "secret" {
		return nil, &phx.JoinError{Response: map[string]string{"reason": "unauthorized"}}
	}
	return map[string]string{"hello": ch.TopicParam()}, nil
}

func (r *room) AfterJoin(ctx context.Context, ch *phx.Channel) error {
	return ch.Push("welcome", map[string]any{"user": ch.Identity()})
}

func (r *room) HandleIn(ctx context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
	switch msg.Event {
	case "ping":
		return phx.Ok(map[string]string{"pong": string(msg.Payload.Data)}), nil
	case "shout":
		return nil, ch.Broadcast("shout", msg.Payload)
	case "whisper":
		return nil, ch.BroadcastFrom("whisper", msg.Payload)
	case "echo_binary":
		return nil, ch.Push("echo", phx.Binary(msg.Payload.Data))
	case "close":
		return nil, ch.Close()
	case "quiet":
		return nil, nil
	}
	return nil, fmt.Errorf("unknown event %s", msg.Event)
}

func (r *room) Terminate(ctx context.Context, ch *phx.Channel, reason error) { r.ended <- reason }

func newEndpoint(t *testing.T) (*phx.Endpoint, *room) {
	ep := phx.NewEndpoint(phx.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	r := &room{ended: make(chan error, 16)}
	ep.Handle("room:*", r)
	t.Cleanup(func() {
		if err := ep.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return ep, r
}

// waitEnded waits for the channel's Terminate.
func waitEnded(t *testing.T, r *room) error {
	t.Helper()
	select {
	case err := <-r.ended:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Terminate did not run")
		return nil
	}
}

var joinParams = map[string]string{"token": "secret"}

func TestJoinPushReplyBroadcast(t *testing.T) {
	ep, _ := newEndpoint(t)
	s := phxtest.Connect(t, ep, phxtest.Options{Identity: "ada"})
	ch, reply := s.JoinResult("room:lobby", joinParams)
	if reply.Status != "ok" || string(reply.Response) != `{"hello":"lobby"}` {
		t.Fatalf("join reply %+v", reply)
	}
	ch.AssertPush("welcome", `{"user":"ada"}`)

	ref := ch.Push("ping", map[string]int{"n": 1})
	ch.AssertReply(ref, "ok", map[string]string{"pong": `{"n":1}`})

	ch.Push("shout", `{"body":"hi"}`)
	ch.AssertBroadcast("shout", map[string]string{"body": "hi"})

	ref = ch.Push("nope", nil)
	ch.AssertReply(ref, "error", `{"reason":"unknown event nope"}`)

	ch.Push("quiet", nil)
	ch.AssertReply(ch.Push("ping", nil), "ok", `{"pong":"{}"}`) // quiet was handled before
	ch.AssertNoMessage()
	if ch.Topic() != "room:lobby" {
		t.Fatalf("Topic() = %q", ch.Topic())
	}
}

func TestJoinRefused(t *testing.T) {
	ep, _ := newEndpoint(t)
	s := phxtest.Connect(t, ep, phxtest.Options{})
	_, reply := s.JoinResult("room:lobby", map[string]string{"token": "guess"})
	if reply.Status != "error" || string(reply.Response) != `{"reason":"unauthorized"}` {
		t.Fatalf("join reply %+v", reply)
	}
	_, reply = s.JoinResult("elsewhere:1", nil)
	if reply.Status != "error" || !strings.Contains(string(reply.Response), "unmatched topic") {
		t.Fatalf("join reply %+v", reply)
	}
}

// A broadcast reaches every client of the topic; BroadcastFrom all but the
// sender's.
func TestBroadcastAcrossSockets(t *testing.T) {
	ep, _ := newEndpoint(t)
	a := phxtest.Connect(t, ep, phxtest.Options{}).Join("room:1", joinParams)
	b := phxtest.Connect(t, ep, phxtest.Options{}).Join("room:1", joinParams)
	a.AssertPush("welcome", nil)
	b.AssertPush("welcome", nil)

	a.Push("whisper", `{"to":"b"}`)
	b.AssertBroadcast("whisper", `{"to":"b"}`)
	a.AssertNoMessage()

	if _, err := ep.Broadcast(context.Background(), "room:1", "news", map[string]int{"n": 7}); err != nil {
		t.Fatal(err)
	}
	a.AssertBroadcast("news", `{"n":7}`)
	b.AssertBroadcast("news", `{"n":7}`)
	b.AssertNoMessage()
}

func TestBinaryPayloads(t *testing.T) {
	ep, _ := newEndpoint(t)
	ch := phxtest.Connect(t, ep, phxtest.Options{}).Join("room:bin", joinParams)
	ch.AssertPush("welcome", nil)
	ch.Push("echo_binary", phx.Binary{0, 1, 2, 255})
	ch.AssertPush("echo", phx.Binary{0, 1, 2, 255})
	ch.AssertNoMessage()
}

func TestLeaveCloseAndDisconnect(t *testing.T) {
	ep, r := newEndpoint(t)
	s := phxtest.Connect(t, ep, phxtest.Options{})

	ch := s.Join("room:a", joinParams)
	ch.AssertPush("welcome", nil)
	ch.Leave()
	ch.AssertNoMessage()
	if err := waitEnded(t, r); !errors.Is(err, phx.ErrLeft) {
		t.Fatalf("Leave: Terminate reason %v", err)
	}

	ch = s.Join("room:b", joinParams)
	ch.Push("close", nil)
	ch.AssertClose()
	if err := waitEnded(t, r); !errors.Is(err, phx.ErrServerClose) {
		t.Fatalf("Close: Terminate reason %v", err)
	}

	s.Join("room:c", joinParams)
	s.Close()
	if err := waitEnded(t, r); !errors.Is(err, phx.ErrDisconnected) {
		t.Fatalf("Close: Terminate reason %v", err)
	}
	s.Close() // idempotent
}

// recorder is a TB that records the failure instead of stopping the test.
type recorder struct {
	failed   string
	cleanups []func()
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	panic(r)
}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

// fails runs f against a recorder and returns its failure message.
func fails(f func(t phxtest.TB)) string {
	r := &recorder{}
	func() {
		defer func() {
			if p := recover(); p != nil && p != any(r) {
				panic(p)
			}
			for i := len(r.cleanups) - 1; i >= 0; i-- {
				r.cleanups[i]()
			}
		}()
		f(r)
	}()
	return r.failed
}

func TestFailureMessages(t *testing.T) {
	ep, _ := newEndpoint(t)
	join := func(t phxtest.TB) *phxtest.Channel {
		return phxtest.Connect(t, ep, phxtest.Options{Timeout: 200 * time.Millisecond}).Join("room:f", joinParams)
	}
	for _, tc := range []struct {
		name string
		f    func(t phxtest.TB)
		want []string
	}{
		{"refused join", func(t phxtest.TB) {
			phxtest.Connect(t, ep, phxtest.Options{}).Join("room:f", nil)
		}, []string{`join "room:f": status "error"`, "unauthorized"}},
		{"payload", func(t phxtest.TB) {
			join(t).AssertPush("welcome", `{"user":"bob"}`)
		}, []string{"push welcome on \"room:f\": payload mismatch (-want +got)", `"bob"`}},
		{"missing push", func(t phxtest.TB) {
			c := join(t)
			c.AssertPush("welcome", nil)
			c.AssertPush("goodbye", nil)
		}, []string{`no push of "goodbye" on "room:f" within 200ms; received: nothing`}},
		{"push is not a broadcast", func(t phxtest.TB) {
			join(t).AssertBroadcast("welcome", nil)
		}, []string{`no broadcast of "welcome"`, "push on room:f: welcome {"}},
		{"status", func(t phxtest.TB) {
			c := join(t)
			c.AssertReply(c.Push("nope", nil), "ok", nil)
		}, []string{`status "error" (response {"reason":"unknown event nope"}), want "ok"`}},
		{"unexpected", func(t phxtest.TB) {
			c := join(t)
			c.AssertReply(c.Push("ping", nil), "ok", nil) // after AfterJoin's push
			c.AssertNoMessage()
		}, []string{`unexpected messages on "room:f"`, "welcome"}},
		{"binary", func(t phxtest.TB) {
			c := join(t)
			c.AssertPush("welcome", nil)
			c.Push("echo_binary", phx.Binary("x"))
			c.AssertPush("echo", `"x"`)
		}, []string{"binary payload 78, want JSON"}},
		{"after close", func(t phxtest.TB) {
			s := phxtest.Connect(t, ep, phxtest.Options{})
			c := s.Join("room:f", joinParams)
			s.Close()
			c.Push("ping", nil)
		}, []string{"after the socket was closed"}},
	} {
		got := fails(tc.f)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: failure message lacks %q:\n%s", tc.name, w, got)
			}
		}
	}
}
