package clustertest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Client is a raw Phoenix Channels v2 WebSocket client of one node.
type Client struct {
	t      *testing.T
	name   string
	conn   *websocket.Conn
	Frames chan Frame
	ref    int
}

// Frame is one decoded message.
type Frame struct {
	JoinRef, Ref *string
	Topic, Event string
	Payload      json.RawMessage
}

// Dial connects a Client to p's /socket/websocket, closed at the end of
// the test.
func Dial(t *testing.T, p *Proc, name string) *Client {
	t.Helper()
	url := "ws" + strings.TrimPrefix(p.URL, "http") + "/socket/websocket?vsn=2.0.0"
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c := &Client{t: t, name: name, conn: conn, Frames: make(chan Frame, 256)}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(c.Frames)
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			var arr []json.RawMessage
			if err := json.Unmarshal(data, &arr); err != nil || len(arr) != 5 {
				continue
			}
			var f Frame
			_ = json.Unmarshal(arr[0], &f.JoinRef)
			_ = json.Unmarshal(arr[1], &f.Ref)
			_ = json.Unmarshal(arr[2], &f.Topic)
			_ = json.Unmarshal(arr[3], &f.Event)
			f.Payload = arr[4]
			c.Frames <- f
		}
	}()
	t.Cleanup(func() {
		conn.Close()
		<-readerDone
	})
	return c
}

// Push sends a message and returns its ref.
func (c *Client) Push(joinRef, topic, event string, payload any) string {
	c.t.Helper()
	c.ref++
	ref := fmt.Sprint(c.ref)
	var jr any
	if joinRef != "" {
		jr = joinRef
	}
	if err := c.conn.WriteJSON([]any{jr, ref, topic, event, payload}); err != nil {
		c.t.Fatalf("%s push: %v", c.name, err)
	}
	return ref
}

// Expect reads frames until one matches, failing after the deadline.
func (c *Client) Expect(what string, match func(Frame) bool) Frame {
	c.t.Helper()
	timeout := time.After(Wait)
	for {
		select {
		case f, ok := <-c.Frames:
			if !ok {
				c.t.Fatalf("%s: connection closed while waiting for %s", c.name, what)
			}
			if match(f) {
				return f
			}
		case <-timeout:
			c.t.Fatalf("%s: no %s within %v", c.name, what, Wait)
		}
	}
}

// Join joins topic and returns the join ref after an ok reply.
func (c *Client) Join(topic string) string {
	c.t.Helper()
	ref := c.Push("", topic, "phx_join", map[string]any{})
	joinRef := ref
	// The join's own ref is its join_ref.
	f := c.Expect("join reply on "+topic, func(f Frame) bool {
		return f.Event == "phx_reply" && f.Topic == topic && f.Ref != nil && *f.Ref == ref
	})
	var r struct{ Status string }
	_ = json.Unmarshal(f.Payload, &r)
	if r.Status != "ok" {
		c.t.Fatalf("%s: join %s: %s", c.name, topic, f.Payload)
	}
	return joinRef
}

// IsEvent matches the frames of event name on topic.
func IsEvent(topic, name string) func(Frame) bool {
	return func(f Frame) bool { return f.Topic == topic && f.Event == name }
}

// CounterValue follows a LiveState counter: it reads state:change and
// state:patch frames until the count equals want.
func (c *Client) CounterValue(topic string, want int64) {
	c.t.Helper()
	c.Expect(fmt.Sprintf("count %d on %s", want, topic), func(f Frame) bool {
		if f.Topic != topic {
			return false
		}
		switch f.Event {
		case "state:change":
			var p struct{ State struct{ Count int64 } }
			_ = json.Unmarshal(f.Payload, &p)
			return p.State.Count == want
		case "state:patch":
			var p struct {
				Patch []struct {
					Op, Path string
					Value    json.RawMessage
				}
			}
			_ = json.Unmarshal(f.Payload, &p)
			for _, op := range p.Patch {
				if op.Op == "replace" && op.Path == "/count" && string(op.Value) == fmt.Sprint(want) {
					return true
				}
			}
		}
		return false
	})
}
