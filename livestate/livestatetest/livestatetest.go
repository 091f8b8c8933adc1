package livestatetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/seance-go/seance/internal/jsonpatch"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// Options configures a test client. Zero fields take the defaults.
type Options struct {
	// Params are the join params (the client's `params`), JSON-encoded.
	Params any
	// Identity is attached to the connection as a connect hook would.
	Identity any
	// ConnectParams are the socket's connect parameters.
	ConnectParams map[string]any
	// Dialect names the LiveState events (default livestate.LiveStateDialect()).
	Dialect *livestate.Dialect
	// Timeout bounds each assertion's wait (default 2s).
	Timeout time.Duration
}

// TB is the part of testing.TB the helpers use; *testing.T and *testing.B
// satisfy it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Message is one message the channel sent to the client.
type Message struct {
	Event   string
	Ref     string // set for replies
	Payload json.RawMessage

	state json.RawMessage // the mirrored state after a state message
}

// Client is a joined test client.
type Client struct {
	t       TB
	topic   string
	sess    *phx.Session
	dialect livestate.Dialect
	timeout time.Duration
	joinRef string
	done    chan struct{}
	sendMu  sync.Mutex
	nextRef int

	mu       sync.Mutex
	notify   chan struct{}
	inbox    []Message
	state    any
	version  int
	hasState bool
	applyErr error
	closed   bool
}

// Join opens an in-process connection to reg, joins topic and waits for the
// join reply; a refused join fails the test. Use [JoinResult] to test
// refusals. The client is closed by t.Cleanup.
func Join(t TB, reg *livestate.Registry, topic string, opts Options) *Client {
	t.Helper()
	c, status, resp := JoinResult(t, reg, topic, opts)
	if status != "ok" {
		t.Fatalf("livestatetest: join %q: status %q, response %s", topic, status, resp)
	}
	return c
}

// JoinResult joins like Join but returns the reply's status and response
// instead of failing on a refusal.
func JoinResult(t TB, reg *livestate.Registry, topic string, opts Options) (*Client, string, json.RawMessage) {
	t.Helper()
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	d := livestate.LiveStateDialect()
	if opts.Dialect != nil {
		d = *opts.Dialect
	}
	info := phx.ConnectInfo{Transport: "test", Identity: opts.Identity, Params: opts.ConnectParams}
	sess, err := reg.Endpoint().Open(info, phx.V2JSON(), true)
	if err != nil {
		t.Fatalf("livestatetest: open: %v", err)
	}
	c := &Client{t: t, topic: topic, sess: sess, dialect: d, timeout: opts.Timeout,
		done: make(chan struct{}), notify: make(chan struct{}, 1)}
	go c.read()
	t.Cleanup(c.Close)
	c.joinRef = c.push("phx_join", opts.Params)
	reply := c.waitReply(c.joinRef)
	if reply == nil {
		t.Fatalf("livestatetest: no reply to the join of %q within %v", topic, c.timeout)
	}
	status, resp := splitReply(reply.Payload)
	return c, status, resp
}

func splitReply(p json.RawMessage) (string, json.RawMessage) {
	var r struct {
		Status   string          `json:"status"`
		Response json.RawMessage `json:"response"`
	}
	json.Unmarshal(p, &r)
	return r.Status, r.Response
}

// read collects what the session sends and keeps the state mirror.
func (c *Client) read() {
	defer close(c.done)
	for {
		frames, err := c.sess.Next(context.Background())
		for _, f := range frames {
			c.receive(f)
		}
		if err != nil {
			return
		}
	}
}

func (c *Client) receive(f phx.Frame) {
	if f.Binary {
		return
	}
	var parts []json.RawMessage
	if json.Unmarshal(f.Data, &parts) != nil || len(parts) != 5 {
		return
	}
	var topic, event, ref string
	json.Unmarshal(parts[2], &topic)
	json.Unmarshal(parts[3], &event)
	json.Unmarshal(parts[1], &ref)
	if topic != c.topic {
		return
	}
	m := Message{Event: event, Ref: ref, Payload: parts[4]}
	c.mu.Lock()
	c.mirror(m)
	if c.hasState && c.applyErr == nil && (m.Event == c.dialect.ChangeEvent || m.Event == c.dialect.PatchEvent) {
		m.state, _ = json.Marshal(c.state)
	}
	c.inbox = append(c.inbox, m)
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// mirror applies state messages like phx-live-state does.
func (c *Client) mirror(m Message) {
	var body map[string]json.RawMessage
	switch m.Event {
	case c.dialect.ChangeEvent:
		if json.Unmarshal(m.Payload, &body) != nil {
			return
		}
		var st any
		json.Unmarshal(body[c.dialect.StateKey], &st)
		c.state, c.hasState = st, true
		c.version, _ = strconv.Atoi(string(body[c.dialect.VersionKey]))
	case c.dialect.PatchEvent:
		if json.Unmarshal(m.Payload, &body) != nil {
			return
		}
		v, _ := strconv.Atoi(string(body[c.dialect.VersionKey]))
		if !c.hasState || (v != c.version+1 && v != 0) {
			c.applyErr = fmt.Errorf("patch version %d after %d", v, c.version)
			return
		}
		next, err := applyPatch(c.state, body[c.dialect.PatchKey])
		if err != nil {
			c.applyErr = fmt.Errorf("patch version %d does not apply: %w", v, err)
			return
		}
		c.state, c.version = next, v
	}
}

// push sends a client message and returns its ref.
func (c *Client) push(event string, payload any) string {
	c.t.Helper()
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	c.nextRef++
	ref := strconv.Itoa(c.nextRef)
	joinRef := c.joinRef
	if event == "phx_join" {
		joinRef = ref
	}
	if payload == nil {
		payload = map[string]any{}
	}
	frame, err := json.Marshal([]any{joinRef, ref, c.topic, event, payload})
	if err != nil {
		c.t.Fatalf("livestatetest: encoding %s: %v", event, err)
	}
	if err := c.sess.Receive(frame, false); err != nil {
		c.t.Fatalf("livestatetest: sending %s: %v", event, err)
	}
	return ref
}

// SendEvent sends the client event name (lvs_evt:name) with payload and
// returns the push's ref.
func (c *Client) SendEvent(name string, payload any) string {
	c.t.Helper()
	return c.push(c.dialect.EventPrefix+name, payload)
}

// Push sends any channel event and returns its ref.
func (c *Client) Push(event string, payload any) string {
	c.t.Helper()
	return c.push(event, payload)
}

// Refresh asks for the full state, as phx-live-state does after a gap.
func (c *Client) Refresh() {
	c.t.Helper()
	c.push(c.dialect.RefreshEvent, nil)
}

// take waits for the first message satisfying match and removes it from the
// inbox; it returns nil after the timeout.
func (c *Client) take(match func(Message) bool) *Message {
	deadline := time.NewTimer(c.timeout)
	defer deadline.Stop()
	for {
		if m := c.find(match); m != nil {
			return m
		}
		select {
		case <-c.notify:
		case <-c.done:
			// One last look: the reader may have queued something before ending.
			return c.find(match)
		case <-deadline.C:
			return nil
		}
	}
}

// find removes and returns the first message in the inbox satisfying match.
func (c *Client) find(match func(Message) bool) *Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, m := range c.inbox {
		if match(m) {
			c.inbox = append(c.inbox[:i:i], c.inbox[i+1:]...)
			return &m
		}
	}
	return nil
}

func (c *Client) waitReply(ref string) *Message {
	return c.take(func(m Message) bool { return m.Event == "phx_reply" && m.Ref == ref })
}

// pending lists the unconsumed messages, for failure messages.
func (c *Client) pending() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.inbox) == 0 {
		return "nothing"
	}
	var b strings.Builder
	for _, m := range c.inbox {
		fmt.Fprintf(&b, "\n  %s %s", m.Event, m.Payload)
	}
	return b.String()
}

// nextState waits for the next state message (change or patch), which must
// be of the wanted event.
func (c *Client) nextState(want string) *Message {
	c.t.Helper()
	m := c.take(func(m Message) bool { return m.Event == c.dialect.ChangeEvent || m.Event == c.dialect.PatchEvent })
	if m == nil {
		c.t.Fatalf("livestatetest: no %s within %v; received: %s", want, c.timeout, c.pending())
	}
	if m.Event != want {
		c.t.Fatalf("livestatetest: got %s %s, want %s", m.Event, m.Payload, want)
	}
	return m
}

// AssertStateChange waits for the next state message, which must be a full
// state (state:change) equal to want (any value that encodes to the
// expected JSON).
func (c *Client) AssertStateChange(want any) {
	c.t.Helper()
	m := c.nextState(c.dialect.ChangeEvent)
	var body map[string]json.RawMessage
	json.Unmarshal(m.Payload, &body)
	c.compare("state", body[c.dialect.StateKey], want)
}

// AssertStatePatch waits for the next state message, which must be a patch
// (state:patch) whose operations equal want (e.g. a JSON string or
// []map[string]any).
func (c *Client) AssertStatePatch(want any) {
	c.t.Helper()
	m := c.nextState(c.dialect.PatchEvent)
	var body map[string]json.RawMessage
	json.Unmarshal(m.Payload, &body)
	c.compare("patch", body[c.dialect.PatchKey], want)
}

// AssertState waits for the next state message, a full state or a patch
// (whichever the channel chose: a patch no smaller than the state is sent
// as the state), and checks the client's state after it against want (any
// value that encodes to the expected JSON).
func (c *Client) AssertState(want any) {
	c.t.Helper()
	m := c.take(func(m Message) bool { return m.Event == c.dialect.ChangeEvent || m.Event == c.dialect.PatchEvent })
	if m == nil {
		c.t.Fatalf("livestatetest: no state message within %v; received: %s", c.timeout, c.pending())
	}
	if m.state == nil {
		c.State() // fails the test with the patch's error
		c.t.Fatalf("livestatetest: %s %s left no state", m.Event, m.Payload)
	}
	c.compare("state", m.state, want)
}

// AssertEvent waits for a push of the named event whose payload equals want.
func (c *Client) AssertEvent(event string, want any) {
	c.t.Helper()
	m := c.take(func(m Message) bool { return m.Event == event })
	if m == nil {
		c.t.Fatalf("livestatetest: no %q event within %v; received: %s", event, c.timeout, c.pending())
	}
	c.compare(event+" payload", m.Payload, want)
}

// AssertReply waits for the reply to the push with ref and checks its
// status and response.
func (c *Client) AssertReply(ref, status string, want any) {
	c.t.Helper()
	m := c.waitReply(ref)
	if m == nil {
		c.t.Fatalf("livestatetest: no reply to ref %s within %v; received: %s", ref, c.timeout, c.pending())
	}
	gotStatus, resp := splitReply(m.Payload)
	if gotStatus != status {
		c.t.Fatalf("livestatetest: reply status %q (response %s), want %q", gotStatus, resp, status)
	}
	c.compare("reply response", resp, want)
}

// AssertNoMessage checks that nothing else was sent: it pushes an event
// that is not a LiveState event, which the channel answers with an error
// reply after handling everything sent before, and expects only that
// reply.
func (c *Client) AssertNoMessage() {
	c.t.Helper()
	// A message on the channel is ordered after the earlier ones: ask for an
	// unknown event's error reply as a barrier.
	ref := c.push("livestatetest:barrier", nil)
	if c.waitReply(ref) == nil {
		c.t.Fatalf("livestatetest: channel did not answer within %v", c.timeout)
	}
	if p := c.pending(); p != "nothing" {
		c.t.Fatalf("livestatetest: unexpected messages: %s", p)
	}
}

func (c *Client) compare(what string, got json.RawMessage, want any) {
	c.t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		c.t.Fatalf("livestatetest: %s is not JSON: %s", what, got)
	}
	wb, err := toJSON(want)
	if err != nil {
		c.t.Fatalf("livestatetest: encoding the wanted %s: %v", what, err)
	}
	json.Unmarshal(wb, &w)
	if !jsonpatch.Equal(g, w) {
		c.t.Fatalf("livestatetest: %s mismatch (-want +got):\n%s", what, cmp.Diff(w, g))
	}
}

func toJSON(v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		if json.Valid([]byte(x)) {
			return []byte(x), nil
		}
	case []byte:
		return x, nil
	case json.RawMessage:
		return x, nil
	}
	return json.Marshal(v)
}

// State returns the client's mirrored state as a JSON tree (nil before the
// first state:change). A patch that failed to apply fails the test.
func (c *Client) State() any {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.applyErr != nil {
		c.t.Fatalf("livestatetest: %v", c.applyErr)
	}
	return c.state
}

// StateInto decodes the mirrored state into v.
func (c *Client) StateInto(v any) {
	c.t.Helper()
	b, err := json.Marshal(c.State())
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		c.t.Fatalf("livestatetest: decoding the state: %v", err)
	}
}

// Version is the version of the mirrored state.
func (c *Client) Version() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version
}

// Close ends the connection (the channel's Closer sees
// phx.ErrDisconnected) and waits for the reader to stop. It is idempotent.
func (c *Client) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	c.sess.Detach()
	<-c.done
}

func applyPatch(doc any, patch []byte) (any, error) {
	ops, err := jsonpatch.Parse(patch)
	if err != nil {
		return nil, err
	}
	return jsonpatch.Apply(doc, ops)
}
