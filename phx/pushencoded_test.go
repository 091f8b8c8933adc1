package phx_test

import (
	"context"
	"testing"

	"github.com/seance-go/seance/phx"
)

// keepingSerializer is V2JSON whose frames share the payload's memory, as
// a Serializer may.
type keepingSerializer struct{ phx.Serializer }

func (k keepingSerializer) Encode(m *phx.Outgoing) (phx.Frame, error) {
	if m.Kind == phx.KindPush && m.Event == "raw" {
		return phx.Frame{Data: m.Payload}, nil
	}
	return k.Serializer.Encode(m)
}

// TestPushEncodedKeepsNoPayload: the caller of PushEncoded may overwrite
// the payload once it returns, whatever the serializer.
func TestPushEncodedKeepsNoPayload(t *testing.T) {
	push := phx.HandlerFuncs{InFunc: func(_ context.Context, ch *phx.Channel, m *phx.Message) (*phx.Reply, error) {
		buf := []byte(`{"n":1}`)
		if err := ch.PushEncoded(m.Event, buf); err != nil {
			return nil, err
		}
		copy(buf, `{"n":2}`)
		return nil, nil
	}}
	for _, tt := range []struct {
		name  string
		ser   phx.Serializer
		event string
		want  string
	}{
		{"v2", phx.V2JSON(), "pushed", `["1",null,"p:x","pushed",{"n":1}]`},
		{"v1", phx.V1JSON(), "pushed", `{"topic":"p:x","event":"pushed","payload":{"n":1},"ref":null}`},
		{"keeping", keepingSerializer{phx.V2JSON()}, "raw", `{"n":1}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ep, _ := newEndpoint(t, phx.Config{})
			ep.Handle("p:*", push)
			c := openWith(t, ep, tt.ser, false)
			if tt.name == "v1" {
				c.send(`{"topic":"p:x","event":"phx_join","payload":{},"ref":"1","join_ref":"1"}`)
			} else {
				c.send(`["1","1","p:x","phx_join",{}]`)
			}
			c.nextFrame() // the join reply
			if tt.name == "v1" {
				c.send(`{"topic":"p:x","event":"` + tt.event + `","payload":{},"ref":"2","join_ref":"1"}`)
			} else {
				c.send(`["1","2","p:x","` + tt.event + `",{}]`)
			}
			if got := string(c.nextFrame().Data); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}
