package adaptertest

import (
	"context"
	"testing"
	"time"

	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/pubsub/internal/adapter"
)

// testJoinAwaitsSubscription: with phx.Config.JoinAwaitsSubscription, a
// client that has seen its join reply receives the next broadcast another
// node publishes, with no retry. While the server is paused (Topics mode)
// the reply waits and the session keeps answering a heartbeat sent behind
// the join; the reply comes once the server resumes and the subscription
// lands, and the broadcasts that follow it arrive.
func testJoinAwaitsSubscription(t *testing.T, br *Broker) {
	modes(t, func(t *testing.T, mode adapter.Mode) {
		epA := br.endpoint(t, "a", mode, func(c *phx.Config) { c.JoinAwaitsSubscription = Stall })
		epB := br.endpoint(t, "b", mode)
		a := openClient(t, epA.Endpoint)
		broadcastAfterJoin := func(topic, event string) {
			t.Helper()
			if _, err := epB.Broadcast(context.Background(), topic, event, nil); err != nil {
				t.Fatalf("b: Broadcast: %v", err)
			}
			a.await(topic, event)
		}
		for i, topic := range []string{"room:x", "room:y", "room:z"} {
			a.Send(`["` + string(rune('1'+i)) + `","1","` + topic + `","phx_join",{}]`)
			a.await(topic, "phx_reply")
			broadcastAfterJoin(topic, "right-after")
		}

		br.Server.Pause()
		resume := time.AfterFunc(Stall/2, br.Server.Resume)
		defer func() {
			if resume.Stop() {
				br.Server.Resume()
			}
		}()
		a.Send(`["9","9","room:stalled","phx_join",{}]`)
		a.Send(`[null,"hb","phoenix","heartbeat",{}]`)
		var joinReplied, hbReplied bool
		for deadline := time.Now().Add(300 * time.Millisecond); time.Now().Before(deadline); {
			f := a.next(time.Until(deadline))
			switch {
			case f == nil:
			case f.Topic == "room:stalled" && f.Event == "phx_reply":
				joinReplied = true
			case f.Topic == "phoenix" && f.Event == "phx_reply":
				hbReplied = true
			}
		}
		if !hbReplied {
			t.Fatal("the heartbeat behind the join was not answered while the server was paused")
		}
		if mode == adapter.Topics && joinReplied {
			t.Fatal("the join was answered while the server was paused, before its subscription landed")
		}
		if resume.Stop() {
			br.Server.Resume()
		}
		if !joinReplied {
			a.await("room:stalled", "phx_reply")
		}
		broadcastAfterJoin("room:stalled", "after-stall")
		if st := epA.PubSubStats(); st.JoinWaitsExpired != 0 {
			t.Errorf("a: %d join waits expired", st.JoinWaitsExpired)
		}
	})
}
