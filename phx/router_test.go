package phx_test

import (
	"context"
	"errors"
	"testing"

	"github.com/seance-go/seance/phx"
)

// TestRoutingAndTopicParam: exact routes win over wildcards, the longest
// wildcard prefix wins, and the channel sees the part of the topic matched by
// "*".
func TestRoutingAndTopicParam(t *testing.T) {
	ep := phx.NewEndpoint(phx.Config{Logger: quietLogger()})
	t.Cleanup(func() { ep.Shutdown(context.Background()) })
	route := func(name string) phx.Handler {
		return phx.HandlerFuncs{JoinFunc: func(ctx context.Context, ch *phx.Channel, _ phx.Payload) (any, error) {
			return map[string]string{"route": name, "param": ch.TopicParam()}, nil
		}}
	}
	ep.Handle("room:*", route("room"))
	ep.Handle("room:vip:*", route("vip"))
	ep.Handle("room:lobby", route("lobby"))
	c := open(t, ep)
	c.send(`["1","1","room:42","phx_join",{}]`)
	c.expect(`["1","1","room:42","phx_reply",{"status":"ok","response":{"route":"room","param":"42"}}]`)
	c.send(`["2","2","room:vip:ann","phx_join",{}]`)
	c.expect(`["2","2","room:vip:ann","phx_reply",{"status":"ok","response":{"route":"vip","param":"ann"}}]`)
	c.send(`["3","3","room:lobby","phx_join",{}]`)
	c.expect(`["3","3","room:lobby","phx_reply",{"status":"ok","response":{"route":"lobby","param":""}}]`)
}

// TestBeforeJoin: the endpoint-wide hook runs before the channel's Join and
// can refuse it like Join itself.
func TestBeforeJoin(t *testing.T) {
	ep := phx.NewEndpoint(phx.Config{Logger: quietLogger(), BeforeJoin: func(ctx context.Context, ch *phx.Channel, p phx.Payload) error {
		if ch.TopicParam() == "closed" {
			return errors.New("room closed")
		}
		return nil
	}})
	t.Cleanup(func() { ep.Shutdown(context.Background()) })
	joined := 0
	ep.Handle("room:*", phx.HandlerFuncs{JoinFunc: func(context.Context, *phx.Channel, phx.Payload) (any, error) {
		joined++
		return nil, nil
	}})
	c := open(t, ep)
	c.send(`["1","1","room:closed","phx_join",{}]`)
	c.expect(`["1","1","room:closed","phx_reply",{"status":"error","response":{"reason":"room closed"}}]`)
	c.send(`["2","2","room:open","phx_join",{}]`)
	c.expect(`["2","2","room:open","phx_reply",{"status":"ok","response":{}}]`)
	if joined != 1 {
		t.Fatalf("channel Join ran %d times, want 1", joined)
	}
}

// TestRoute: Endpoint.Route answers as a join would route, without joining.
func TestRoute(t *testing.T) {
	ep := phx.NewEndpoint(phx.Config{Logger: quietLogger()})
	t.Cleanup(func() { ep.Shutdown(context.Background()) })
	room, lobby := &phx.HandlerFuncs{}, &phx.HandlerFuncs{}
	ep.Handle("room:*", room)
	ep.Handle("room:lobby", lobby)
	for _, c := range []struct {
		topic, pattern string
		h              phx.Handler
	}{{"room:1", "room:*", room}, {"room:lobby", "room:lobby", lobby}, {"other:1", "", nil}} {
		h, pattern := ep.Route(c.topic)
		if h != c.h || pattern != c.pattern {
			t.Errorf("Route(%q) = %v %q, want %v %q", c.topic, h, pattern, c.h, c.pattern)
		}
	}
	if ep.Sessions() != 0 {
		t.Error("Route opened something")
	}
}
