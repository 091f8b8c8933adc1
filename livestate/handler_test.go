package livestate_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/livestate"
)

// TestHandlerOverWebSocket: livestate.Handler under chi's Mount serves a
// state channel to a real WebSocket client.
func TestHandlerOverWebSocket(t *testing.T) {
	reg := newRegistry(t)
	reg.Handle("counter:*", livestate.New(func() livestate.Channel[Counter] { return counterChannel{} }, livestate.Options{}))
	r := chi.NewRouter()
	r.Mount("/socket", livestate.Handler(reg))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/socket/websocket?vsn=2.0.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	read := func() []any {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(waitTimeout))
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var f []any
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatal(err)
		}
		return f
	}
	conn.WriteMessage(websocket.TextMessage, []byte(`["1","1","counter:7","phx_join",{}]`))
	if f := read(); f[3] != "phx_reply" {
		t.Fatalf("got %v", f)
	}
	if f := read(); f[3] != "state:change" {
		t.Fatalf("got %v", f)
	}
	conn.WriteMessage(websocket.TextMessage, []byte(`["1","2","counter:7","lvs_evt:increment",{}]`))
	f := read()
	m := &mirror{t: t, state: map[string]any{"count": 0.0, "label": "clicks on the big red button"}}
	if f[3] != "state:patch" {
		t.Fatalf("got %v", f)
	}
	m.patch(f[4].(map[string]any), "patch")
	if m.state.(map[string]any)["count"] != 1.0 || m.version != 1 {
		t.Errorf("state %v version %d", m.state, m.version)
	}
}
