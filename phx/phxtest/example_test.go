package phxtest_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/phx/phxtest"
)

// exampleTB stands in for the *testing.T a real test passes.
type exampleTB struct{ cleanups []func() }

func (*exampleTB) Helper()                           {}
func (*exampleTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (e *exampleTB) Cleanup(f func())                { e.cleanups = append(e.cleanups, f) }

// A chat room tested like a Phoenix channel: join, push, and assert the
// reply and the broadcast.
func Example() {
	t := &exampleTB{} // in a test: the *testing.T
	defer func() {
		for i := len(t.cleanups) - 1; i >= 0; i-- {
			t.cleanups[i]()
		}
	}()

	ep := phx.NewEndpoint(phx.Config{})
	t.Cleanup(func() { ep.Shutdown(context.Background()) }) // after the socket's cleanup
	ep.Handle("room:*", phx.HandlerFuncs{
		JoinFunc: func(ctx context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
			return map[string]string{"room": ch.TopicParam()}, nil
		},
		InFunc: func(ctx context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
			var in struct {
				Body string `json:"body"`
			}
			if err := msg.Payload.Decode(&in); err != nil {
				return nil, err
			}
			if err := ch.Broadcast("new_msg", map[string]string{"body": strings.ToUpper(in.Body)}); err != nil {
				return nil, err
			}
			return phx.Ok(map[string]int{"length": len(in.Body)}), nil
		},
	})

	socket := phxtest.Connect(t, ep, phxtest.Options{})
	ch, reply := socket.JoinResult("room:lobby", nil)
	fmt.Println(reply.Status, string(reply.Response))

	ref := ch.Push("new_msg", map[string]string{"body": "hello"})
	ch.AssertBroadcast("new_msg", `{"body":"HELLO"}`)
	ch.AssertReply(ref, "ok", `{"length":5}`)
	ch.AssertNoMessage()
	ch.Leave()
	fmt.Println("all assertions passed")
	// Output:
	// ok {"room":"lobby"}
	// all assertions passed
}
