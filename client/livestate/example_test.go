package livestate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gorilla/websocket"

	"github.com/seance-go/seance/client"
	"github.com/seance-go/seance/client/livestate"
)

// todoServer is a minimal stand-in for a LiveState channel: after a join it
// sends the state, and it answers lvs_evt:add_todo with a patch.
func todoServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		version, todos := 0, 0
		for {
			var f [5]json.RawMessage // [join_ref, ref, topic, event, payload]
			if err := c.ReadJSON(&f); err != nil {
				return
			}
			var out [][]any
			switch string(f[3]) {
			case `"phx_join"`:
				out = append(out,
					[]any{f[0], f[1], f[2], "phx_reply", map[string]any{"status": "ok", "response": map[string]any{}}},
					[]any{f[0], nil, f[2], "state:change", map[string]any{"state": map[string]any{"todos": []any{}}, "version": 0}})
			case `"lvs_evt:add_todo"`:
				var p struct{ Todo string }
				_ = json.Unmarshal(f[4], &p)
				version++
				op := map[string]any{"op": "add", "path": fmt.Sprintf("/todos/%d", todos), "value": p.Todo}
				todos++
				out = append(out, []any{f[0], nil, f[2], "state:patch", map[string]any{"patch": []any{op}, "version": version}})
			}
			for _, msg := range out {
				if err := c.WriteJSON(msg); err != nil {
					return
				}
			}
		}
	}))
}

func Example() {
	srv := todoServer()
	defer srv.Close()
	ctx := context.Background()
	s, err := client.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/socket", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	m := livestate.New(s, "todo:all", nil)
	changes := make(chan livestate.Change, 10)
	m.OnChange(func(c livestate.Change) { changes <- c })
	if err := m.Join(ctx); err != nil {
		log.Fatal(err)
	}
	<-changes // the initial state:change

	if err := m.PushEvent(ctx, "add_todo", map[string]string{"todo": "Do a thing"}); err != nil {
		log.Fatal(err)
	}
	c := <-changes
	var state struct {
		Todos []string `json:"todos"`
	}
	if err := m.StateInto(&state); err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Version, state.Todos)
	// Output: 1 [Do a thing]
}
