// Package wstest is a minimal Phoenix V2 WebSocket client for the examples'
// Go tests: raw frames in and out, no reconnects, no heartbeats.
package wstest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// Frame is one decoded V2 frame.
type Frame struct {
	JoinRef, Ref string // "" for null
	Topic, Event string
	Payload      json.RawMessage
}

func (f Frame) String() string {
	return fmt.Sprintf("[%q %q %q %q %s]", f.JoinRef, f.Ref, f.Topic, f.Event, f.Payload)
}

// Conn is a client connection.
type Conn struct {
	ws *websocket.Conn
}

// Dial connects to a socket mount such as http://127.0.0.1:4000/socket
// (the scheme is turned into ws and /websocket?vsn=2.0.0 is appended).
// header may carry an Origin. On a refused handshake the response is
// returned with the error.
func Dial(ctx context.Context, mount string, header http.Header) (*Conn, *http.Response, error) {
	u := strings.Replace(mount, "http", "ws", 1) + "/websocket?vsn=2.0.0"
	ws, resp, err := websocket.DefaultDialer.DialContext(ctx, u, header)
	if err != nil {
		return nil, resp, err
	}
	return &Conn{ws: ws}, resp, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.ws.Close() }

// Push sends [joinRef, ref, topic, event, payload].
func (c *Conn) Push(joinRef, ref, topic, event string, payload any) error {
	data, err := json.Marshal([]any{joinRef, ref, topic, event, payload})
	if err != nil {
		return err
	}
	return c.ws.WriteMessage(websocket.TextMessage, data)
}

// Join sends phx_join with joinRef as both refs and waits for its reply.
func (c *Conn) Join(ctx context.Context, topic, joinRef string) (Frame, error) {
	if err := c.Push(joinRef, joinRef, topic, "phx_join", map[string]any{}); err != nil {
		return Frame{}, err
	}
	return c.Await(ctx, func(f Frame) bool { return f.Event == "phx_reply" && f.Ref == joinRef })
}

// Next reads one frame; it fails when ctx ends first.
func (c *Conn) Next(ctx context.Context) (Frame, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(10 * time.Second)
	}
	c.ws.SetReadDeadline(deadline)
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		return Frame{}, err
	}
	var raw [5]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return Frame{}, fmt.Errorf("bad frame %s: %w", data, err)
	}
	var f Frame
	for i, dst := range []*string{&f.JoinRef, &f.Ref, &f.Topic, &f.Event} {
		if string(raw[i]) == "null" {
			continue
		}
		if err := json.Unmarshal(raw[i], dst); err != nil {
			return Frame{}, fmt.Errorf("bad frame %s: %w", data, err)
		}
	}
	f.Payload = raw[4]
	return f, nil
}

// Await reads frames until match accepts one, and returns it.
func (c *Conn) Await(ctx context.Context, match func(Frame) bool) (Frame, error) {
	for {
		f, err := c.Next(ctx)
		if err != nil {
			return Frame{}, err
		}
		if match(f) {
			return f, nil
		}
	}
}
