package presence_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/presence"
)

// A channel tracks its client after the join and pushes the list;
// phoenix.js's Presence on the client then follows presence_diff. The
// list is readable from anywhere, here as a REST handler would encode it.
func Example() {
	ep := phx.NewEndpoint(phx.Config{Logger: quietLogger()})
	tracker := presence.New(ep, presence.Options{Interval: 10 * time.Millisecond})
	ep.Handle("room:*", roomHandler{tracker})

	sess, err := ep.Open(phx.ConnectInfo{Transport: "example"}, phx.V2JSON(), false)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	sess.Receive([]byte(`["1","1","room:lobby","phx_join",{"user":"ann"}]`), false)
	for seen := 0; seen < 3; {
		frames, _ := sess.Next(ctx)
		for _, f := range frames {
			var msg []json.RawMessage
			json.Unmarshal(f.Data, &msg)
			fmt.Println(string(msg[3])) // the event
			seen++
		}
	}
	for key, p := range tracker.List("room:lobby") {
		var meta struct{ Device string }
		p.Metas[0].Decode(&meta)
		fmt.Println(key, len(p.Metas), meta.Device)
	}

	sess.Detach()
	ep.Shutdown(ctx)
	tracker.Close(ctx)
	// Output:
	// "phx_reply"
	// "presence_diff"
	// "presence_state"
	// ann 1 laptop
}

type roomHandler struct{ tracker *presence.Tracker }

func (roomHandler) Join(_ context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
	var p struct{ User string }
	if err := params.Decode(&p); err != nil {
		return nil, err
	}
	ch.Set("user", p.User)
	return nil, nil
}

// AfterJoin tracks the user (the entry leaves by itself when the channel
// ends) and sends the list.
func (h roomHandler) AfterJoin(_ context.Context, ch *phx.Channel) error {
	if _, err := h.tracker.Track(ch, ch.Value("user").(string), map[string]string{"device": "laptop"}); err != nil {
		return err
	}
	return h.tracker.PushState(ch)
}
