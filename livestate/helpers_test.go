package livestate_test

import (
	"context"
	"encoding/json"
	"github.com/seance-go/seance/internal/jsonpatch"
	"github.com/seance-go/seance/internal/sessiontest"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitTimeout bounds every wait for an event (a failure deadline, never a
// sleep).
const waitTimeout = 5 * time.Second

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newRegistry returns a registry shut down when the test ends.
func newRegistry(t testing.TB) *livestate.Registry {
	t.Helper()
	reg := livestate.NewRegistry(livestate.Config{Engine: phx.Config{Logger: quietLogger()}})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := reg.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return reg
}

// client drives an in-process session with raw frames.
type client struct {
	*sessiontest.Client
	seq int
}

func open(t testing.TB, reg *livestate.Registry) *client {
	t.Helper()
	info := phx.ConnectInfo{Transport: "test", Identity: "ann"}
	return &client{Client: sessiontest.Open(t, reg.Endpoint(), info, phx.V2JSON(), true)}
}

func (c *client) send(frame string)    { c.T.Helper(); c.Send(frame) }
func (c *client) nextFrame() phx.Frame { c.T.Helper(); return c.NextFrame() }
func (c *client) expectNothing()       { c.T.Helper(); c.ExpectNothing() }

// push sends event on topic with join_ref "1" and the next ref, returning
// the ref.
func (c *client) push(topic, event, payload string) string {
	c.T.Helper()
	c.seq++
	ref := strconv.Itoa(100 + c.seq)
	c.Send(`["1","` + ref + `","` + topic + `","` + event + `",` + payload + `]`)
	return ref
}

// frame is a decoded v2 text frame.
type frame struct {
	JoinRef, Ref any
	Topic, Event string
	Payload      any
}

func (c *client) next() frame {
	c.T.Helper()
	f := c.nextFrame()
	var a []any
	if err := json.Unmarshal(f.Data, &a); err != nil || len(a) != 5 {
		c.T.Fatalf("frame %q: %v", f.Data, err)
	}
	return frame{a[0], a[1], a[2].(string), a[3].(string), a[4]}
}

// expect reads frames and compares each with the JSON text of a frame.
func (c *client) expect(want ...string) {
	c.T.Helper()
	for i, w := range want {
		f := c.next()
		got := []any{f.JoinRef, f.Ref, f.Topic, f.Event, f.Payload}
		if d := cmp.Diff(decode(c.T, w), got); d != "" {
			c.T.Fatalf("frame %d of %d (-want +got)\n%s", i+1, len(want), d)
		}
	}
}

// expectEvent reads one frame, checks it is a push of event on topic and
// returns its payload.
func (c *client) expectEvent(topic, event string) map[string]any {
	c.T.Helper()
	f := c.next()
	if f.Topic != topic || f.Event != event || f.Ref != nil {
		c.T.Fatalf("got %s %s (ref %v) %v, want a push of %s on %s", f.Topic, f.Event, f.Ref, f.Payload, event, topic)
	}
	p, ok := f.Payload.(map[string]any)
	if !ok {
		c.T.Fatalf("payload of %s is %T", event, f.Payload)
	}
	return p
}

func decode(t testing.TB, s string) any { t.Helper(); return sessiontest.Decode(t, s) }

// applyPatch applies decoded RFC 6902 operations with the project's strict
// applier; doc is not modified. Numbers come back as float64, as
// encoding/json decodes them.
func applyPatch(doc any, patch []any) (any, error) {
	text, err := json.Marshal(patch)
	if err != nil {
		return nil, err
	}
	ops, err := jsonpatch.Parse(text)
	if err != nil {
		return nil, err
	}
	out, err := jsonpatch.Apply(doc, ops)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	var v any
	err = json.Unmarshal(b, &v)
	return v, err
}

// mirror is the client's copy of a state channel: it applies state:change
// and state:patch pushes like phx-live-state and checks versions.
type mirror struct {
	t       testing.TB
	state   any
	version int
}

// change records a state:change payload.
func (m *mirror) change(p map[string]any) {
	m.t.Helper()
	m.state = p["state"]
	m.version = int(p["version"].(float64))
}

// patch applies a state:patch payload.
func (m *mirror) patch(p map[string]any, key string) {
	m.t.Helper()
	ops, ok := p[key].([]any)
	if !ok {
		m.t.Fatalf("patch payload without %q array: %v", key, p)
	}
	next, err := applyPatch(m.state, ops)
	if err != nil {
		m.t.Fatalf("applying %v: %v", ops, err)
	}
	m.state = next
	m.version = int(p["version"].(float64))
}

// names are the state events of a dialect.
type names struct{ change, patch, key string }

var lvsNames = names{"state:change", "state:patch", "patch"}

// update reads the next frame, which must be a state update of topic (a
// patch, or a full state when that is smaller), and applies it to m. It
// returns the event received.
func (c *client) update(m *mirror, topic string, n names) string {
	c.T.Helper()
	f := c.next()
	p, _ := f.Payload.(map[string]any)
	if f.Topic != topic || p == nil {
		c.T.Fatalf("got %s %s %v, want a state update on %s", f.Topic, f.Event, f.Payload, topic)
	}
	switch f.Event {
	case n.change:
		m.change(p)
	case n.patch:
		m.patch(p, n.key)
	default:
		c.T.Fatalf("got %s %v, want %s or %s", f.Event, f.Payload, n.change, n.patch)
	}
	return f.Event
}

// expectEmptyPatch reads the next frame, which must be the empty
// state:patch live_state sends after a callback that changed nothing, and
// returns its version.
func (c *client) expectEmptyPatch(topic string) int {
	c.T.Helper()
	p := c.expectEvent(topic, "state:patch")
	if ops, ok := p["patch"].([]any); !ok || len(ops) != 0 {
		c.T.Fatalf("state:patch %v, want an empty patch", p)
	}
	return int(p["version"].(float64))
}
