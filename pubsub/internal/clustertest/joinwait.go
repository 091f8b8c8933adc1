package clustertest

import (
	"fmt"
	"testing"
	"time"
)

// JoinAwaitsSubscription checks, with real nodes, what
// phx.Config.JoinAwaitsSubscription promises. n1 runs with -join-awaits and
// reaches the broker through a link stall and resume cut and restore; n2
// reaches it directly.
//
//   - A client of n1 that has seen its join reply receives the next
//     broadcast n2 publishes on the topic, with no retry, topic after
//     topic.
//   - While n1's link is stalled, the join of a new topic is not answered,
//     but a heartbeat sent behind it is. Once the link is back, the join
//     is answered and n2's next broadcast arrives.
func JoinAwaitsSubscription(t *testing.T, n1, n2 *Proc, stall, resume func()) {
	t.Helper()
	c := Dial(t, n1, "c")
	for i := range 5 {
		topic := fmt.Sprintf("room:new%d", i)
		c.Join(topic)
		n2.Broadcast(t, topic, "right-after", `{}`)
		c.Expect("n2's broadcast right after the join of "+topic, IsEvent(topic, "right-after"))
	}

	stall()
	stalled := true
	defer func() {
		if stalled {
			resume()
		}
	}()
	const topic = "room:stalled"
	ref := c.Push("", topic, "phx_join", map[string]any{})
	hb := c.Push("", "phoenix", "heartbeat", map[string]any{})
	c.Expect("the heartbeat's reply during the stall", func(f Frame) bool {
		if f.Topic == topic && f.Event == "phx_reply" {
			t.Fatalf("the join of %s was answered while n1's broker link was stalled", topic)
		}
		return f.Topic == "phoenix" && f.Ref != nil && *f.Ref == hb
	})
	select {
	case f := <-c.Frames:
		if f.Topic == topic {
			t.Fatalf("%s %s while n1's broker link was stalled", topic, f.Event)
		}
	case <-time.After(300 * time.Millisecond):
	}
	resume()
	stalled = false
	c.Expect("the join reply once the link is back", func(f Frame) bool {
		return f.Topic == topic && f.Event == "phx_reply" && f.Ref != nil && *f.Ref == ref
	})
	n2.Broadcast(t, topic, "after-stall", `{}`)
	c.Expect("n2's broadcast after the stalled join", IsEvent(topic, "after-stall"))
}
