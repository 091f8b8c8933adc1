package phx_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/seance-go/seance/internal/sessiontest"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/seance-go/seance/phx"
)

// waitTimeout bounds every wait for an event in these tests; it is a
// deadline for failure, never a sleep.
const waitTimeout = 5 * time.Second

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newEndpoint returns an endpoint with the test routes and a recorder of
// Terminator calls; it is shut down when the test ends (after the sessions
// opened with open are detached).
func newEndpoint(t testing.TB, cfg phx.Config) (*phx.Endpoint, *recorder) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	ep := phx.NewEndpoint(cfg)
	rec := newRecorder()
	ep.Handle("room:*", &roomHandler{rec: rec})
	ep.Handle("out:*", &outHandler{rec: rec})
	ep.Handle("plain", phx.HandlerFuncs{})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := ep.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return ep, rec
}

// client is an in-process transport: it feeds frames to a session and
// collects what the session sends (binary frames decoded, see decodeFrame).
type client struct{ *sessiontest.Client }

func open(t testing.TB, ep *phx.Endpoint) *client {
	t.Helper()
	return openWith(t, ep, phx.V2JSON(), true)
}

func openWith(t testing.TB, ep *phx.Endpoint, ser phx.Serializer, binaryOK bool) *client {
	t.Helper()
	return &client{sessiontest.Open(t, ep, phx.ConnectInfo{Transport: "test", Identity: "tester"}, ser, binaryOK)}
}

func (c *client) send(frame string)       { c.T.Helper(); c.Send(frame) }
func (c *client) sendBinary(frame []byte) { c.T.Helper(); c.SendBinary(frame) }
func (c *client) nextFrame() phx.Frame    { c.T.Helper(); return c.NextFrame() }
func (c *client) expectNothing()          { c.T.Helper(); c.ExpectNothing() }

// next returns the next frame in its normalised form (see decodeFrame).
func (c *client) next() any {
	c.T.Helper()
	v, err := decodeFrame(c.NextFrame())
	if err != nil {
		c.T.Fatal(err)
	}
	return v
}

// expect reads len(want) frames and compares them with want, each the
// normalised JSON of a frame.
func (c *client) expect(want ...string) {
	c.T.Helper()
	for i, w := range want {
		got := c.next()
		if d := cmp.Diff(norm(c.T, w), got); d != "" {
			c.T.Fatalf("frame %d of %d: (-want +got)\n%s", i+1, len(want), d)
		}
	}
}

// norm decodes JSON text for comparison.
func norm(t testing.TB, s string) any { t.Helper(); return sessiontest.Decode(t, s) }

// binFrame is a decoded server→client binary frame.
type binFrame struct {
	Kind    int
	JoinRef string
	Ref     string
	Topic   string
	Event   string // or the status of a reply
	Payload []byte
}

// decodeBinaryOut parses the three server binary layouts of §2.3.
func decodeBinaryOut(b []byte) (binFrame, error) {
	if len(b) == 0 {
		return binFrame{}, errors.New("empty binary frame")
	}
	var f binFrame
	var lens []int
	var hdr int
	switch b[0] {
	case 0:
		hdr = 4
	case 1:
		hdr = 5
	case 2:
		hdr = 3
	default:
		return f, fmt.Errorf("unknown binary kind %d", b[0])
	}
	if len(b) < hdr {
		return f, errors.New("short binary header")
	}
	for _, l := range b[1:hdr] {
		lens = append(lens, int(l))
	}
	p := hdr
	field := func(n int) (string, error) {
		if p+n > len(b) {
			return "", errors.New("binary field past the end")
		}
		s := string(b[p : p+n])
		p += n
		return s, nil
	}
	var err error
	f.Kind = int(b[0])
	switch f.Kind {
	case 0:
		if f.JoinRef, err = field(lens[0]); err == nil {
			if f.Topic, err = field(lens[1]); err == nil {
				f.Event, err = field(lens[2])
			}
		}
	case 1:
		if f.JoinRef, err = field(lens[0]); err == nil {
			if f.Ref, err = field(lens[1]); err == nil {
				if f.Topic, err = field(lens[2]); err == nil {
					f.Event, err = field(lens[3])
				}
			}
		}
	case 2:
		if f.Topic, err = field(lens[0]); err == nil {
			f.Event, err = field(lens[1])
		}
	}
	f.Payload = b[p:]
	return f, err
}

// decodeFrame normalises an outbound frame: a text frame is its decoded
// JSON; a binary frame becomes
// {"bin":kind,"join_ref":…,"ref":…,"topic":…,"event":…,"hex":payload}.
func decodeFrame(f phx.Frame) (any, error) {
	if !f.Binary {
		var v any
		if err := json.Unmarshal(f.Data, &v); err != nil {
			return nil, fmt.Errorf("text frame %q is not JSON: %v", f.Data, err)
		}
		return v, nil
	}
	b, err := decodeBinaryOut(f.Data)
	if err != nil {
		return nil, fmt.Errorf("binary frame %x: %v", f.Data, err)
	}
	return map[string]any{
		"bin": float64(b.Kind), "join_ref": b.JoinRef, "ref": b.Ref,
		"topic": b.Topic, "event": b.Event, "hex": hex.EncodeToString(b.Payload),
	}, nil
}

// binaryPush builds a client binary push (kind 0).
func binaryPush(joinRef, ref, topic, event string, payload []byte) []byte {
	b := []byte{0, byte(len(joinRef)), byte(len(ref)), byte(len(topic)), byte(len(event))}
	b = append(b, joinRef...)
	b = append(b, ref...)
	b = append(b, topic...)
	b = append(b, event...)
	return append(b, payload...)
}

// recorder collects Terminator calls.
type recorder struct {
	mu    sync.Mutex
	terms []termination
	added chan struct{}
}

type termination struct {
	Topic, JoinRef string
	Reason         error
}

func newRecorder() *recorder { return &recorder{added: make(chan struct{}, 1)} }

func (r *recorder) add(tm termination) {
	r.mu.Lock()
	r.terms = append(r.terms, tm)
	r.mu.Unlock()
	select {
	case r.added <- struct{}{}:
	default:
	}
}

// wait blocks until the channel topic/joinRef has terminated and returns
// its reason.
func (r *recorder) wait(t testing.TB, topic, joinRef string) error {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		for _, tm := range r.terms {
			if tm.Topic == topic && tm.JoinRef == joinRef {
				r.mu.Unlock()
				return tm.Reason
			}
		}
		r.mu.Unlock()
		select {
		case <-r.added:
		case <-deadline.C:
			t.Fatalf("channel %s (join_ref %s) did not terminate", topic, joinRef)
			return nil
		}
	}
}

// expectReason waits for the termination of topic/joinRef and checks it.
func (r *recorder) expectReason(t testing.TB, topic, joinRef string, want error) {
	t.Helper()
	if got := r.wait(t, topic, joinRef); !errors.Is(got, want) {
		t.Errorf("channel %s/%s terminated with %v, want %v", topic, joinRef, got, want)
	}
}

// count reports how many terminations were recorded.
func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.terms)
}

// roomHandler is the test channel for "room:*". Join behaviour depends on
// the topic, HandleIn on the event name (see the switch).
type roomHandler struct{ rec *recorder }

func (h *roomHandler) Join(ctx context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
	switch ch.Topic() {
	case "room:refuse":
		return nil, errors.New("not allowed")
	case "room:joinerror":
		return nil, &phx.JoinError{Response: map[string]any{"code": 42, "why": "banned"}}
	case "room:crash":
		panic("join exploded")
	case "room:reply":
		var p struct {
			User string `json:"user"`
		}
		if err := params.Decode(&p); err != nil {
			return nil, err
		}
		return map[string]string{"welcome": p.User}, nil
	case "room:pushinjoin":
		err := ch.Push("early", nil)
		return map[string]string{"push": fmt.Sprint(err)}, nil
	case "room:identity":
		return map[string]any{"identity": ch.Identity(), "transport": ch.ConnectInfo().Transport}, nil
	}
	return nil, nil
}

func (h *roomHandler) AfterJoin(ctx context.Context, ch *phx.Channel) error {
	if ch.Topic() == "room:after" {
		ch.Push("after_join", map[string]int{"n": 1})
		ch.Push("after_join", map[string]int{"n": 2})
	}
	return nil
}

func (h *roomHandler) HandleIn(ctx context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
	switch msg.Event {
	case "echo":
		return phx.Ok(msg.Payload), nil
	case "status":
		return &phx.Reply{Status: "custom", Response: map[string]int{"x": 1}}, nil
	case "error":
		return nil, errors.New("it failed")
	case "panic":
		panic("handler exploded")
	case "noreply":
		return nil, nil
	case "nilreply":
		return phx.Ok(nil), nil
	case "nullraw":
		return phx.Ok(phx.Raw("null")), nil
	case "nilptr":
		var p *struct{ A int }
		return phx.Ok(p), nil
	case "unencodable":
		return phx.Ok(map[string]any{"f": func() {}}), nil
	case "push":
		if err := ch.Push("pushed", msg.Payload); err != nil {
			return nil, err
		}
		return nil, nil
	case "pushnil":
		return nil, ch.Push("pushed", nil)
	case "later":
		ref := msg.Ref
		go ch.Reply(ref, phx.Ok(map[string]string{"late": "yes"}))
		return nil, nil
	case "close":
		return nil, ch.Close()
	case "broadcast":
		return phx.Ok(nil), ch.Broadcast("shout", msg.Payload)
	case "broadcast_from":
		return phx.Ok(nil), ch.BroadcastFrom("shout", msg.Payload)
	case "binary":
		data := msg.Payload.Data
		if !msg.Payload.Binary {
			data = []byte("text:" + string(data))
		}
		if err := ch.Push("bin_push", phx.Binary(append([]byte("p:"), data...))); err != nil {
			return phx.Err(map[string]string{"push": err.Error()}), nil
		}
		return phx.Ok(phx.Binary(append([]byte("r:"), data...))), nil
	case "binreply":
		return phx.Ok(phx.Binary{1, 2, 3}), nil
	case "send":
		return phx.Ok(nil), ch.Send(msg.Payload)
	case "subscribe":
		var p struct{ Topic string }
		if err := msg.Payload.Decode(&p); err != nil {
			return nil, err
		}
		return phx.Ok(nil), ch.Subscribe(p.Topic)
	case "unsubscribe":
		var p struct{ Topic string }
		if err := msg.Payload.Decode(&p); err != nil {
			return nil, err
		}
		ch.Unsubscribe(p.Topic)
		return phx.Ok(nil), nil
	case "set":
		ch.Set("k", string(msg.Payload.Data))
		return phx.Ok(nil), nil
	case "get":
		return phx.Ok(map[string]any{"k": ch.Value("k")}), nil
	}
	return nil, fmt.Errorf("unknown event %s", msg.Event)
}

func (h *roomHandler) HandleInfo(ctx context.Context, ch *phx.Channel, msg any) error {
	switch m := msg.(type) {
	case *phx.Broadcast:
		return ch.Push("sub", map[string]any{"topic": m.Topic, "event": m.Event, "payload": m.Payload})
	case phx.Payload:
		return ch.Push("info", m)
	}
	return ch.Push("info", map[string]string{"type": fmt.Sprintf("%T", msg)})
}

func (h *roomHandler) Terminate(ctx context.Context, ch *phx.Channel, reason error) {
	h.rec.add(termination{Topic: ch.Topic(), JoinRef: ch.JoinRef(), Reason: reason})
}

// outHandler intercepts broadcasts on its own topic: "secret" events are
// dropped, others are pushed renamed.
type outHandler struct{ rec *recorder }

func (h *outHandler) Join(ctx context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
	return nil, nil
}

func (h *outHandler) HandleIn(ctx context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
	return phx.Ok(nil), ch.Broadcast(msg.Event, msg.Payload)
}

func (h *outHandler) HandleOut(ctx context.Context, ch *phx.Channel, b *phx.Broadcast) error {
	if strings.HasPrefix(b.Event, "secret") {
		return nil
	}
	return ch.Push(b.Event+"!", map[string]any{"intercepted": b.Payload, "for": ch.JoinRef()})
}

func (h *outHandler) Terminate(ctx context.Context, ch *phx.Channel, reason error) {
	h.rec.add(termination{Topic: ch.Topic(), JoinRef: ch.JoinRef(), Reason: reason})
}
