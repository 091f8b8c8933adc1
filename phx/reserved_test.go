package phx_test

import (
	"context"
	"errors"
	"testing"

	"github.com/seance-go/seance/phx"
)

// A client cannot join a reserved topic even through a catch-all route, and
// the application cannot broadcast on one: nothing can forge the messages
// the cluster services exchange on them.
func TestReservedTopics(t *testing.T) {
	ep, _ := newEndpoint(t, phx.Config{})
	ep.Handle("*", phx.HandlerFuncs{})
	c := open(t, ep)
	c.send(`["1","1","seance:membership","phx_join",{}]`)
	c.expect(`[null,"1","seance:membership","phx_reply",{"status":"error","response":{"reason":"reserved topic"}}]`)
	c.send(`["2","2","anything","phx_join",{}]`) // the catch-all route serves other topics
	c.expect(`["2","2","anything","phx_reply",{"status":"ok","response":{}}]`)

	if _, err := ep.Broadcast(context.Background(), "seance:cluster", "request", map[string]any{}); !errors.Is(err, phx.ErrReservedTopic) {
		t.Errorf("Broadcast on a reserved topic: %v, want ErrReservedTopic", err)
	}
	if _, err := ep.BroadcastLocal("seance:membership", "heartbeat", map[string]any{}); !errors.Is(err, phx.ErrReservedTopic) {
		t.Errorf("BroadcastLocal on a reserved topic: %v, want ErrReservedTopic", err)
	}
	c.expectNothing()
}
