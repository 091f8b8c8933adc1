package phxtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/seance-go/seance/phx"
)

// Options configures a test socket. Zero fields take the defaults.
type Options struct {
	// Identity is attached to the connection as a connect hook would
	// (phx.Channel.Identity).
	Identity any
	// ConnectParams are the socket's connect parameters
	// (phx.ConnectInfo.Params).
	ConnectParams map[string]any
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

// Kind tells a [Message]'s kind as the client sees it on the wire.
type Kind int

const (
	// KindPush is a message the channel pushed to this client (it carries
	// the join ref).
	KindPush Kind = iota
	// KindReply is the reply to a client message (phx_reply).
	KindReply
	// KindBroadcast is a broadcast on the topic, delivered to every
	// subscriber (no join ref).
	KindBroadcast
)

func (k Kind) String() string {
	switch k {
	case KindPush:
		return "push"
	case KindReply:
		return "reply"
	case KindBroadcast:
		return "broadcast"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Message is one message the client received.
type Message struct {
	Kind    Kind
	JoinRef string // empty for broadcasts
	Ref     string // the client message's ref, for replies
	Topic   string
	// Event is the pushed or broadcast event; for a reply, its status.
	Event string
	// Payload is the JSON payload (for a reply: its response), or the raw
	// bytes of a binary one.
	Payload []byte
	Binary  bool
}

func (m Message) String() string {
	p := string(m.Payload)
	if m.Binary {
		p = fmt.Sprintf("binary %x", m.Payload)
	}
	if m.Kind == KindReply {
		return fmt.Sprintf("reply to ref %s on %s: %s %s", m.Ref, m.Topic, m.Event, p)
	}
	return fmt.Sprintf("%s on %s: %s %s", m.Kind, m.Topic, m.Event, p)
}

// Socket is an in-process client connection to an endpoint. It is not safe
// for concurrent use; use one per goroutine.
type Socket struct {
	t       TB
	sess    *phx.Session
	timeout time.Duration
	nextRef int
	inbox   []Message
	ended   error // the session's close error, once it ended
}

// Connect opens an in-process connection to ep, as a transport would after
// its connect hook accepted the client. It is closed by t.Cleanup. Like a
// transport, the socket holds up ep.Shutdown until it is closed: register
// the endpoint's shutdown with t.Cleanup before connecting (cleanups run
// last first), or Close the socket before.
func Connect(t TB, ep *phx.Endpoint, opts Options) *Socket {
	t.Helper()
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	info := phx.ConnectInfo{Transport: "test", Identity: opts.Identity, Params: opts.ConnectParams}
	sess, err := ep.Open(info, phx.V2JSON(), true)
	if err != nil {
		t.Fatalf("phxtest: open: %v", err)
	}
	s := &Socket{t: t, sess: sess, timeout: opts.Timeout}
	t.Cleanup(s.Close)
	return s
}

// Close disconnects the client: its channels end with phx.ErrDisconnected.
// It is idempotent.
func (s *Socket) Close() {
	if s.sess != nil {
		s.sess.Detach()
		s.sess = nil
	}
}

// Reply is the reply to a client message.
type Reply struct {
	Status   string // "ok" or "error"
	Response json.RawMessage
}

// Join joins topic with the join params (any value that encodes to the JSON
// params; nil for {}) and waits for the join reply; a refused join fails the
// test. Use [Socket.JoinResult] to test refusals.
func (s *Socket) Join(topic string, params any) *Channel {
	s.t.Helper()
	ch, reply := s.JoinResult(topic, params)
	if reply.Status != "ok" {
		s.t.Fatalf("phxtest: join %q: status %q, response %s", topic, reply.Status, reply.Response)
	}
	return ch
}

// JoinResult joins like Join but returns the join reply instead of failing
// on a refusal.
func (s *Socket) JoinResult(topic string, params any) (*Channel, Reply) {
	s.t.Helper()
	ref := s.send("", topic, "phx_join", params, true)
	ch := &Channel{s: s, topic: topic, joinRef: ref}
	m := s.take(func(m Message) bool { return m.Kind == KindReply && m.Ref == ref && m.Topic == topic })
	if m == nil {
		s.t.Fatalf("phxtest: no reply to the join of %q within %v; received: %s", topic, s.timeout, s.pending(""))
	}
	return ch, Reply{Status: m.Event, Response: json.RawMessage(m.Payload)}
}

// send feeds one client message and returns its ref. A join is its own join
// ref.
func (s *Socket) send(joinRef, topic, event string, payload any, join bool) string {
	s.t.Helper()
	if s.sess == nil {
		s.t.Fatalf("phxtest: %s on %q after the socket was closed", event, topic)
	}
	s.nextRef++
	ref := strconv.Itoa(s.nextRef)
	if join {
		joinRef = ref
	}
	var frame []byte
	var err error
	if b, ok := payload.(phx.Binary); ok {
		if len(joinRef) > 255 || len(topic) > 255 || len(event) > 255 {
			s.t.Fatalf("phxtest: a binary push's topic and event are at most 255 bytes")
		}
		frame = binaryPush(joinRef, ref, topic, event, b)
		err = s.sess.Receive(frame, true)
	} else {
		var p []byte
		if p, err = payloadJSON(payload); err != nil {
			s.t.Fatalf("phxtest: encoding the payload of %s: %v", event, err)
		}
		var jr any
		if joinRef != "" {
			jr = joinRef
		}
		frame, err = json.Marshal([]any{jr, ref, topic, event, json.RawMessage(p)})
		if err == nil {
			err = s.sess.Receive(frame, false)
		}
	}
	if err != nil {
		s.t.Fatalf("phxtest: the session refused %s on %q: %v", event, topic, err)
	}
	return ref
}

// payloadJSON encodes a payload: JSON text as is, nil as {}.
func payloadJSON(v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return []byte("{}"), nil
	case json.RawMessage:
		return x, nil
	case string:
		if json.Valid([]byte(x)) {
			return []byte(x), nil
		}
	}
	return json.Marshal(v)
}

// take returns the first message satisfying match, removing it from the
// inbox, reading from the session until one comes; nil after the timeout or
// once the session ended.
func (s *Socket) take(match func(Message) bool) *Message {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	for {
		for i, m := range s.inbox {
			if match(m) {
				s.inbox = append(s.inbox[:i:i], s.inbox[i+1:]...)
				return &m
			}
		}
		if s.ended != nil || s.sess == nil || !s.read(ctx) {
			return nil
		}
	}
}

// read moves what the session queued into the inbox; false when the wait
// timed out or the session ended.
func (s *Socket) read(ctx context.Context) bool {
	s.t.Helper()
	frames, err := s.sess.Next(ctx)
	for _, f := range frames {
		m, derr := decode(f)
		if derr != nil {
			s.t.Fatalf("phxtest: the session sent a frame the client cannot read: %v", derr)
		}
		s.inbox = append(s.inbox, m)
	}
	if err != nil {
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			s.ended = err
		}
		return len(frames) > 0
	}
	return true
}

// pending lists the unconsumed messages (of topic, or all for ""), for
// failure messages.
func (s *Socket) pending(topic string) string {
	var b strings.Builder
	for _, m := range s.inbox {
		if topic == "" || m.Topic == topic {
			b.WriteString("\n  " + m.String())
		}
	}
	if s.ended != nil {
		fmt.Fprintf(&b, "\n  (the connection ended: %v)", s.ended)
	}
	if b.Len() == 0 {
		return "nothing"
	}
	return b.String()
}

// Channel is a joined topic of a test socket.
type Channel struct {
	s       *Socket
	topic   string
	joinRef string
}

// Topic is the channel's topic.
func (c *Channel) Topic() string { return c.topic }

// Push sends the client event with payload (any value that encodes to the
// JSON payload, nil for {}, or a phx.Binary for a binary frame) and returns
// the message's ref for [Channel.AssertReply].
func (c *Channel) Push(event string, payload any) string {
	c.s.t.Helper()
	return c.s.send(c.joinRef, c.topic, event, payload, false)
}

// mine reports whether m belongs to this join of the channel.
func (c *Channel) mine(m Message) bool {
	return m.Topic == c.topic && (m.JoinRef == c.joinRef || m.Kind == KindBroadcast)
}

// AssertReply waits for the reply to the message with ref and checks its
// status and response (any value that encodes to the expected JSON; JSON
// text as is).
func (c *Channel) AssertReply(ref, status string, want any) {
	c.s.t.Helper()
	m := c.s.take(func(m Message) bool { return c.mine(m) && m.Kind == KindReply && m.Ref == ref })
	if m == nil {
		c.s.t.Fatalf("phxtest: no reply to ref %s on %q within %v; received: %s", ref, c.topic, c.s.timeout, c.s.pending(c.topic))
	}
	if m.Event != status {
		c.s.t.Fatalf("phxtest: reply to ref %s on %q: status %q (response %s), want %q", ref, c.topic, m.Event, m.Payload, status)
	}
	c.compare("reply to ref "+ref, *m, want)
}

// AssertPush waits for a push of event from the channel to this client
// and checks its payload.
func (c *Channel) AssertPush(event string, want any) {
	c.s.t.Helper()
	c.assert(KindPush, event, want)
}

// AssertBroadcast waits for a broadcast of event on the channel's topic, as
// this client receives it, and checks its payload. A channel's BroadcastFrom
// skips its own client: to see those, join the topic with a second socket.
func (c *Channel) AssertBroadcast(event string, want any) {
	c.s.t.Helper()
	c.assert(KindBroadcast, event, want)
}

func (c *Channel) assert(kind Kind, event string, want any) {
	c.s.t.Helper()
	m := c.s.take(func(m Message) bool { return c.mine(m) && m.Kind == kind && m.Event == event })
	if m == nil {
		c.s.t.Fatalf("phxtest: no %s of %q on %q within %v; received: %s", kind, event, c.topic, c.s.timeout, c.s.pending(c.topic))
	}
	c.compare(kind.String()+" "+event, *m, want)
}

// AssertClose waits for phx_close: the server closed the channel.
func (c *Channel) AssertClose() {
	c.s.t.Helper()
	c.assert(KindPush, "phx_close", nil)
}

// AssertNoMessage checks that the client received nothing of the channel
// that was not asserted yet. It sends a heartbeat and looks at everything
// queued before its reply. The heartbeat is answered by the connection, not
// by the channel, which handles messages on its own goroutine: assert the
// reply to the last push first (a channel handles its messages in order,
// so that reply comes after all their output).
func (c *Channel) AssertNoMessage() {
	c.s.t.Helper()
	ref := c.s.send("", "phoenix", "heartbeat", nil, false)
	if c.s.take(func(m Message) bool { return m.Topic == "phoenix" && m.Kind == KindReply && m.Ref == ref }) == nil {
		c.s.t.Fatalf("phxtest: no heartbeat reply within %v; received: %s", c.s.timeout, c.s.pending(""))
	}
	var extra []string
	for _, m := range c.s.inbox {
		if c.mine(m) {
			extra = append(extra, "\n  "+m.String())
		}
	}
	if len(extra) > 0 {
		c.s.t.Fatalf("phxtest: unexpected messages on %q:%s", c.topic, strings.Join(extra, ""))
	}
}

// Leave leaves the topic (phx_leave) and waits for its ok reply and the
// phx_close that follows it.
func (c *Channel) Leave() {
	c.s.t.Helper()
	ref := c.s.send(c.joinRef, c.topic, "phx_leave", nil, false)
	c.AssertReply(ref, "ok", nil)
	c.AssertClose()
}

// compare checks a message's payload against want; a nil want checks
// nothing but that the payload exists.
func (c *Channel) compare(what string, m Message, want any) {
	c.s.t.Helper()
	if want == nil {
		return
	}
	if b, ok := want.(phx.Binary); ok {
		if !m.Binary || string(m.Payload) != string(b) {
			c.s.t.Fatalf("phxtest: %s on %q: payload %s, want binary %x", what, c.topic, m, []byte(b))
		}
		return
	}
	if m.Binary {
		c.s.t.Fatalf("phxtest: %s on %q: binary payload %x, want JSON", what, c.topic, m.Payload)
	}
	var got, w any
	if err := json.Unmarshal(m.Payload, &got); err != nil {
		c.s.t.Fatalf("phxtest: %s on %q: payload is not JSON: %s", what, c.topic, m.Payload)
	}
	wb, err := payloadJSON(want)
	if err == nil {
		err = json.Unmarshal(wb, &w)
	}
	if err != nil {
		c.s.t.Fatalf("phxtest: encoding the wanted payload of %s: %v", what, err)
	}
	if d := cmp.Diff(w, got); d != "" {
		c.s.t.Fatalf("phxtest: %s on %q: payload mismatch (-want +got):\n%s", what, c.topic, d)
	}
}
