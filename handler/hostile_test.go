package handler_test

import (
	"context"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

// shouter broadcasts every "shout" payload to the topic's subscribers (the
// README's chat pattern) and answers a binary push with its payload.
type shouter struct{}

func (shouter) Join(context.Context, *phx.Channel, phx.Payload) (any, error) { return nil, nil }

func (shouter) HandleIn(_ context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
	if msg.Payload.Binary {
		return phx.Ok(phx.Binary(msg.Payload.Data)), nil
	}
	return phx.Ok(nil), ch.Broadcast("shout", msg.Payload)
}

// TestInvalidUTF8Closes1007: a text frame that is not valid UTF-8 closes
// its own connection with 1007 and reaches nobody else: a subscriber of the
// room stays connected and receives the next broadcast. The v2 binary
// serializer's payload may hold any bytes, but not its refs, topic, event.
func TestInvalidUTF8Closes1007(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	ep.Handle("shout:*", shouter{})
	srv := serve(t, newHandler(ep, handler.Options{}))
	url := wsURL(srv, "/socket/websocket?vsn=2.0.0")

	listener, _ := mustDial(t, url, nil)
	joinResponse(t, listener, "shout:1")

	bad := []struct {
		name string
		kind int
		data string
	}{
		{"payload", websocket.TextMessage, "[\"1\",\"2\",\"shout:1\",\"shout\",{\"body\":\"hi \xff\xfe\"}]"},
		{"ref", websocket.TextMessage, "[\"1\",\"\xc3(\",\"shout:1\",\"shout\",{}]"},
		{"heartbeat ref", websocket.TextMessage, "[null,\"\xff\",\"phoenix\",\"heartbeat\",{}]"},
		{"surrogate half", websocket.TextMessage, "[\"1\",\"2\",\"shout:1\",\"shout\",{\"body\":\"\xed\xa0\x80\"}]"},
		{"binary topic", websocket.BinaryMessage, "\x00\x01\x01\x07\x02" + "12" + "shout:\xff" + "up"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			sender, _ := mustDial(t, url, nil)
			joinResponse(t, sender, "shout:1")
			sender.SetWriteDeadline(time.Now().Add(waitTimeout))
			if err := sender.WriteMessage(tt.kind, []byte(tt.data)); err != nil {
				t.Fatal(err)
			}
			if code := closeCode(t, sender); code != websocket.CloseInvalidFramePayloadData {
				t.Errorf("close code %d, want 1007", code)
			}
		})
	}

	// the listener saw none of it and still gets the room's messages
	other, _ := mustDial(t, url, nil)
	joinResponse(t, other, "shout:1")
	send(t, other, `["1","2","shout:1","shout",{"body":"héllo"}]`)
	expect(t, listener, `[null,null,"shout:1","shout",{"body":"héllo"}]`)
	expect(t, other, `[null,null,"shout:1","shout",{"body":"héllo"}]`)
	expect(t, other, `["1","2","shout:1","phx_reply",{"status":"ok","response":{}}]`)

	// arbitrary bytes in a binary payload are fine
	other.SetWriteDeadline(time.Now().Add(waitTimeout))
	if err := other.WriteMessage(websocket.BinaryMessage, []byte("\x00\x01\x01\x07\x02"+"13"+"shout:1"+"up"+"\xff\xfe")); err != nil {
		t.Fatal(err)
	}
	other.SetReadDeadline(time.Now().Add(waitTimeout))
	kind, data, err := other.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	want := "\x01\x01\x01\x07\x02" + "13" + "shout:1" + "ok" + "\xff\xfe"
	if kind != websocket.BinaryMessage || string(data) != want {
		t.Errorf("binary reply %d %q, want %q", kind, data, want)
	}
	send(t, listener, `[null,"9","phoenix","heartbeat",{}]`)
	expect(t, listener, `[null,"9","phoenix","phx_reply",{"status":"ok","response":{}}]`)
}
