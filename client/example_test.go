package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gorilla/websocket"

	"github.com/seance-go/seance/client"
)

// echoServer is a tiny stand-in for a Phoenix endpoint: it accepts every
// join and answers "ping" with the payload it received.
func echoServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			var f [5]json.RawMessage // [join_ref, ref, topic, event, payload]
			if err := c.ReadJSON(&f); err != nil {
				return
			}
			reply := map[string]any{"status": "ok", "response": map[string]any{}}
			if string(f[3]) == `"ping"` {
				reply["response"] = f[4]
			}
			if err := c.WriteJSON([]any{f[0], f[1], f[2], "phx_reply", reply}); err != nil {
				return
			}
		}
	}))
}

func Example() {
	srv := echoServer()
	defer srv.Close()
	endpoint := "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket"

	ctx := context.Background()
	s, err := client.Dial(ctx, endpoint, &client.Options{Params: map[string]any{"token": "abc"}})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	ch, _, err := s.Join(ctx, "room:lobby", map[string]string{"nick": "ann"})
	if err != nil {
		log.Fatal(err)
	}
	ch.On("new_msg", func(m client.Message) { fmt.Printf("server says %s\n", m.Payload) })

	reply, err := ch.Push(ctx, "ping", map[string]int{"n": 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(reply.Status, string(reply.Response))
	if err := ch.Leave(ctx); err != nil {
		log.Fatal(err)
	}
	// Output: ok {"n":1}
}

// lobbyBot shows the behaviour style: the Socket calls it on one goroutine,
// so it keeps plain fields, and it decides about reconnects and rejoins.
type lobbyBot struct {
	client.BaseHandler // phoenix.js defaults for the methods not written here
	seen               int
}

func (b *lobbyBot) Connected(s *client.Socket) {
	if b.seen == 0 { // channels rejoin by themselves after reconnects
		_ = s.Channel("room:lobby", nil).JoinAsync()
	}
}

func (b *lobbyBot) Message(ch *client.Channel, m client.Message) {
	b.seen++
	if m.Event == "ping" {
		_, _ = ch.PushAsync("pong", nil) // the reply arrives in Reply
	}
}

func (b *lobbyBot) Disconnected(s *client.Socket, err error) client.Decision {
	var he *client.HandshakeError
	if errors.As(err, &he) && he.StatusCode == http.StatusForbidden {
		return client.Decision{Stop: true} // credentials refused: give up
	}
	return client.Decision{} // reconnect with the configured backoff
}

func ExampleHandler() {
	s, err := client.NewSocket("wss://example.com/socket", &client.Options{Handler: &lobbyBot{}})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	_ = s.Connect() // everything else happens in lobbyBot's methods
}
