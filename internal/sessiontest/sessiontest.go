// Package sessiontest is the in-process transport the engine's and the
// channel packages' tests drive sessions with: it feeds frames to a
// phx.Session and reads what the session sends, with deadlines instead of
// sleeps.
package sessiontest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/seance-go/seance/phx"
)

// Timeout bounds every wait for a frame.
const Timeout = 5 * time.Second

// Client is an in-process transport of one session.
type Client struct {
	T    testing.TB
	Sess *phx.Session
	seq  int
	buf  []phx.Frame // returned by Next, not yet consumed
}

// Open opens a session on ep; it is detached when the test ends.
func Open(t testing.TB, ep *phx.Endpoint, info phx.ConnectInfo, ser phx.Serializer, binaryOK bool) *Client {
	t.Helper()
	sess, err := ep.Open(info, ser, binaryOK)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(sess.Detach)
	return &Client{T: t, Sess: sess}
}

// Send feeds one text frame, which must be accepted.
func (c *Client) Send(frame string) {
	c.T.Helper()
	if err := c.Sess.Receive([]byte(frame), false); err != nil {
		c.T.Fatalf("Receive(%s): %v", frame, err)
	}
}

// SendBinary feeds one binary frame, which must be accepted.
func (c *Client) SendBinary(frame []byte) {
	c.T.Helper()
	if err := c.Sess.Receive(frame, true); err != nil {
		c.T.Fatalf("Receive(binary %x): %v", frame, err)
	}
}

// NextFrame returns the next frame the session sent, failing after Timeout.
func (c *Client) NextFrame() phx.Frame {
	c.T.Helper()
	if len(c.buf) == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		fs, err := c.Sess.Next(ctx)
		if err != nil {
			c.T.Fatalf("Next: %v", err)
		}
		c.buf = fs
	}
	f := c.buf[0]
	c.buf = c.buf[1:]
	return f
}

// Unread puts f back: the next NextFrame returns it again.
func (c *Client) Unread(f phx.Frame) { c.buf = append([]phx.Frame{f}, c.buf...) }

// ExpectText reads len(want) text frames and compares each with the JSON
// text of a frame.
func (c *Client) ExpectText(want ...string) {
	c.T.Helper()
	for i, w := range want {
		f := c.NextFrame()
		var got any
		if f.Binary || json.Unmarshal(f.Data, &got) != nil {
			c.T.Fatalf("frame %d of %d is not JSON text: %q", i+1, len(want), f.Data)
		}
		if d := cmp.Diff(Decode(c.T, w), got); d != "" {
			c.T.Fatalf("frame %d of %d: (-want +got)\n%s", i+1, len(want), d)
		}
	}
}

// ExpectNothing proves that nothing else is queued: it sends a heartbeat
// and the very next frame must be its reply.
func (c *Client) ExpectNothing() {
	c.T.Helper()
	c.seq++
	ref := fmt.Sprintf("hb-%d", c.seq)
	c.Send(`[null,"` + ref + `","phoenix","heartbeat",{}]`)
	c.ExpectText(`[null,"` + ref + `","phoenix","phx_reply",{"status":"ok","response":{}}]`)
}

// Decode decodes JSON text for comparison.
func Decode(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON %s: %v", s, err)
	}
	return v
}
