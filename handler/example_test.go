package handler_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

// Mount a socket in an http.ServeMux at /socket: phoenix.js connects to
// new Socket("/socket") and reaches /socket/websocket.
func Example() {
	ep := phx.NewEndpoint(phx.Config{Logger: quietLogger()})
	ep.Handle("room:*", phx.HandlerFuncs{
		JoinFunc: func(ctx context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
			return map[string]any{"user": ch.Identity()}, nil
		},
	})
	mux := http.NewServeMux()
	mux.Handle("/socket/", handler.New(ep, handler.Options{
		Connect: func(r *http.Request, info *phx.ConnectInfo) error {
			if info.Params["token"] != "secret" {
				return handler.ErrRefused // HTTP 403
			}
			info.Identity = "ann"
			return nil
		},
		Logger: quietLogger(),
	}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket/websocket?token=secret&vsn=2.0.0"
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		panic(err)
	}
	conn.WriteMessage(websocket.TextMessage, []byte(`["1","1","room:lobby","phx_join",{}]`))
	_, reply, err := conn.ReadMessage()
	if err != nil {
		panic(err)
	}
	fmt.Println(string(reply))

	// Shutdown closes the connection with 1012 (service restart).
	done := make(chan error, 1)
	go func() { done <- ep.Shutdown(context.Background()) }()
	_, _, err = conn.ReadMessage()
	fmt.Println(websocket.IsCloseError(err, websocket.CloseServiceRestart), <-done)
	conn.Close()
	// Output:
	// ["1","1","room:lobby","phx_reply",{"status":"ok","response":{"user":"ann"}}]
	// true <nil>
}

// Turn on permessage-deflate (Phoenix's `compress: true`): clients that
// offer it (browsers, the ws package, gorilla's Dialer with
// EnableCompression) get messages of 512 bytes or more compressed.
func ExampleCompression() {
	ep := phx.NewEndpoint(phx.Config{Logger: quietLogger()})
	ep.Handle("room:*", phx.HandlerFuncs{
		JoinFunc: func(ctx context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
			return map[string]any{"rows": strings.Repeat("a row of data, ", 1000)}, nil
		},
	})
	srv := httptest.NewServer(handler.New(ep, handler.Options{
		Compression: handler.Compression{Enabled: true},
		Logger:      quietLogger(),
	}))
	defer srv.Close()
	defer ep.Shutdown(context.Background())

	d := websocket.Dialer{EnableCompression: true}
	conn, resp, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/socket/websocket?vsn=2.0.0", nil)
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	fmt.Println(resp.Header.Get("Sec-WebSocket-Extensions"))
	conn.WriteMessage(websocket.TextMessage, []byte(`["1","1","room:lobby","phx_join",{}]`))
	_, reply, err := conn.ReadMessage() // inflated by gorilla
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d bytes: %.58s…\n", len(reply), reply)
	// Output:
	// permessage-deflate; server_no_context_takeover; client_no_context_takeover
	// 15073 bytes: ["1","1","room:lobby","phx_reply",{"status":"ok","response…
}
