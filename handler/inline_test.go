package handler_test

import (
	"context"
	"testing"

	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

// gate's "block" event signals entered and waits for release; "echo"
// replies with its payload.
type gate struct {
	entered chan string
	release chan struct{}
}

func (g *gate) Join(context.Context, *phx.Channel, phx.Payload) (any, error) { return nil, nil }

func (g *gate) HandleIn(ctx context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
	if msg.Event == "block" {
		g.entered <- ch.Topic()
		select {
		case <-g.release:
		case <-ctx.Done():
		}
	}
	return phx.Ok(msg.Payload), nil
}

// TestSlowEventHoldsNothingElse: client events run on the goroutine that
// read them, but a callback that does not return holds up neither the
// socket's heartbeats nor its other channels, and its own channel's later
// events are answered after it, in order.
//
// By default (ParkAfter > 0) the callback holds the read side until the
// poller's sweep takes it back; with a negative ParkAfter the read side
// goes back to the poller before the callback runs. The test asserts the
// order, not the time.
func TestSlowEventHoldsNothingElse(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts handler.Options
	}{
		{"lent", handler.Options{}},
		{"parked", handler.Options{ParkAfter: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) { testSlowEventHoldsNothingElse(t, tc.opts) })
	}
}

func testSlowEventHoldsNothingElse(t *testing.T, opts handler.Options) {
	ep, _ := testEndpoint(t, phx.Config{})
	g := &gate{entered: make(chan string, 1), release: make(chan struct{})}
	ep.Handle("gate:*", g)
	srv := serve(t, newHandler(ep, opts))
	conn, _ := mustDial(t, wsURL(srv, "/websocket?vsn=2.0.0"), nil)
	for _, topic := range []string{"gate:a", "gate:b"} {
		send(t, conn, `["`+topic+`","j","`+topic+`","phx_join",{}]`)
		expect(t, conn, `["`+topic+`","j","`+topic+`","phx_reply",{"status":"ok","response":{}}]`)
	}
	send(t, conn, `["gate:a","1","gate:a","block",{}]`)
	<-g.entered
	send(t, conn, `["gate:a","2","gate:a","echo",{"n":2}]`)
	send(t, conn, `[null,"3","phoenix","heartbeat",{}]`)
	expect(t, conn, `[null,"3","phoenix","phx_reply",{"status":"ok","response":{}}]`)
	send(t, conn, `["gate:b","4","gate:b","echo",{"n":4}]`)
	expect(t, conn, `["gate:b","4","gate:b","phx_reply",{"status":"ok","response":{"n":4}}]`)
	close(g.release)
	expect(t, conn, `["gate:a","1","gate:a","phx_reply",{"status":"ok","response":{}}]`)
	expect(t, conn, `["gate:a","2","gate:a","phx_reply",{"status":"ok","response":{"n":2}}]`)
	// Events of the idle channel again, back to back.
	for _, ref := range []string{"5", "6", "7"} {
		send(t, conn, `["gate:a","`+ref+`","gate:a","echo",{}]`)
	}
	for _, ref := range []string{"5", "6", "7"} {
		expect(t, conn, `["gate:a","`+ref+`","gate:a","phx_reply",{"status":"ok","response":{}}]`)
	}
}
