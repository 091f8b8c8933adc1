package phx_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/seance-go/seance/phx"
)

// TestNameLimits: topics and event names are accepted up to
// Config.MaxTopicBytes and MaxEventBytes (defaults and configured) and
// answered with an error reply, which echoes the refs and topic, past them;
// nothing is joined or handled and the session carries on.
func TestNameLimits(t *testing.T) {
	echo := phx.HandlerFuncs{InFunc: func(_ context.Context, _ *phx.Channel, m *phx.Message) (*phx.Reply, error) {
		return phx.Ok(map[string]int{"event_bytes": len(m.Event)}), nil
	}}
	for _, tt := range []struct {
		name         string
		cfg          phx.Config
		topic, event int // the limits in effect
	}{
		{"defaults", phx.Config{}, 1024, 255},
		{"configured", phx.Config{MaxTopicBytes: 40, MaxEventBytes: 10}, 40, 10},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ep, _ := newEndpoint(t, tt.cfg)
			ep.Handle("lim:*", echo)
			if got := ep.Config(); got.MaxTopicBytes != tt.topic || got.MaxEventBytes != tt.event {
				t.Fatalf("effective limits %d/%d, want %d/%d", got.MaxTopicBytes, got.MaxEventBytes, tt.topic, tt.event)
			}
			c := open(t, ep)
			topicOf := func(n int) string { return "lim:" + strings.Repeat("t", n-len("lim:")) }
			long := topicOf(tt.topic + 1)
			c.send(`["1","1","` + long + `","phx_join",{}]`)
			c.expect(`["1","1","` + long + `","phx_reply",{"status":"error","response":{"reason":"topic too long"}}]`)
			c.send(`["1","2","` + long + `","echo",{}]`)
			c.expect(`["1","2","` + long + `","phx_reply",{"status":"error","response":{"reason":"topic too long"}}]`)

			edge := topicOf(tt.topic)
			c.send(`["3","3","` + edge + `","phx_join",{}]`)
			c.expect(`["3","3","` + edge + `","phx_reply",{"status":"ok","response":{}}]`)
			ev := strings.Repeat("e", tt.event)
			c.send(`["3","4","` + edge + `","` + ev + `",{}]`)
			c.expect(`["3","4","` + edge + `","phx_reply",{"status":"ok","response":{"event_bytes":` + strconv.Itoa(tt.event) + `}}]`)
			c.send(`["3","5","` + edge + `","` + ev + `e",{}]`)
			c.expect(`["3","5","` + edge + `","phx_reply",{"status":"error","response":{"reason":"event too long"}}]`)
			// a join with a long event name is refused like any message
			c.send(`["6","6","lim:x","phx_join` + strings.Repeat("_", tt.event) + `",{}]`)
			c.expect(`["6","6","lim:x","phx_reply",{"status":"error","response":{"reason":"event too long"}}]`)
			c.send(`[null,"7","phoenix","heartbeat",{}]`)
			c.expect(`[null,"7","phoenix","phx_reply",{"status":"ok","response":{}}]`)
		})
	}
}
