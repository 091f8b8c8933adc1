package phx_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/seance-go/seance/phx"
)

// A plain channel driven through an in-process session, the way a
// transport drives it: frames in with Receive, frames out with Next.
func Example() {
	ep := phx.NewEndpoint(phx.Config{Logger: quietLogger()})
	ep.Handle("room:*", phx.HandlerFuncs{
		JoinFunc: func(ctx context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
			return map[string]string{"hello": ch.Topic()}, nil
		},
		InFunc: func(ctx context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
			var in struct {
				Body string `json:"body"`
			}
			if err := msg.Payload.Decode(&in); err != nil {
				return nil, err
			}
			return phx.Ok(map[string]string{"shout": strings.ToUpper(in.Body)}), nil
		},
	})

	sess, err := ep.Open(phx.ConnectInfo{Transport: "example"}, phx.V2JSON(), false)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for _, in := range []string{
		`["1","1","room:lobby","phx_join",{}]`,
		`["1","2","room:lobby","new_msg",{"body":"hi"}]`,
		`[null,"3","phoenix","heartbeat",{}]`,
		`["1","4","nowhere","phx_join",{}]`,
	} {
		if err := sess.Receive([]byte(in), false); err != nil {
			panic(err)
		}
		frames, err := sess.Next(ctx)
		if err != nil {
			panic(err)
		}
		for _, f := range frames {
			fmt.Println(string(f.Data))
		}
	}
	sess.Detach()
	if err := ep.Shutdown(ctx); err != nil {
		panic(err)
	}
	// Output:
	// ["1","1","room:lobby","phx_reply",{"status":"ok","response":{"hello":"room:lobby"}}]
	// ["1","2","room:lobby","phx_reply",{"status":"ok","response":{"shout":"HI"}}]
	// [null,"3","phoenix","phx_reply",{"status":"ok","response":{}}]
	// [null,"4","nowhere","phx_reply",{"status":"error","response":{"reason":"unmatched topic"}}]
}
