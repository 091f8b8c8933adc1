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
