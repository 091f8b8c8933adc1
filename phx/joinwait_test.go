package phx_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/seance-go/seance/phx"
)

// TestJoinAwaitsSubscription: with Config.JoinAwaitsSubscription the reply
// to the join of a new topic waits for the adapter's Subscribe to return,
// while the session keeps answering (a heartbeat behind the join); a
// broadcast delivered locally meanwhile comes after the reply. A later
// join of the same topic, already subscribed, does not wait.
func TestJoinAwaitsSubscription(t *testing.T) {
	ps := newStall(true)
	ep, _ := newEndpoint(t, phx.Config{PubSub: ps, JoinAwaitsSubscription: waitTimeout})
	c := open(t, ep)
	sendAll(t, c, `["1","1","room:a","phx_join",{}]`)
	waitFor(t, "Subscribe called", func() bool { return ps.blockedNow() == 1 })
	c.expectNothing() // a heartbeat is answered; the join reply is not sent
	if n, err := ep.Broadcast(context.Background(), "room:a", "early", map[string]int{"n": 1}); n != 1 || err != nil {
		t.Fatalf("Broadcast reached %d, %v", n, err)
	}
	c.expectNothing()
	ps.step <- struct{}{} // Subscribe returns
	c.expect(`["1","1","room:a","phx_reply",`+okEmpty+`]`, `[null,null,"room:a","early",{"n":1}]`)
	unhang(ps) // the broadcast's Publish

	c2 := open(t, ep)
	c2.send(`["1","1","room:a","phx_join",{}]`)
	c2.expect(`["1","1","room:a","phx_reply",` + okEmpty + `]`)
	if st := ep.PubSubStats(); st.JoinWaitsExpired != 0 || st.Pending != 0 {
		t.Errorf("stats %+v, want no expired wait, nothing pending", st)
	}
}

// TestJoinAwaitsSubscriptionBounded: a broker that does not confirm the
// subscription delays the reply by JoinAwaitsSubscription, not more; the
// reply is then sent and counted.
func TestJoinAwaitsSubscriptionBounded(t *testing.T) {
	ps := newStall(true)
	const bound = 100 * time.Millisecond
	ep, _ := newEndpoint(t, phx.Config{PubSub: ps, JoinAwaitsSubscription: bound})
	c := open(t, ep)
	start := time.Now()
	sendAll(t, c, `["1","1","room:a","phx_join",{}]`)
	c.expect(`["1","1","room:a","phx_reply",` + okEmpty + `]`)
	if waited := time.Since(start); waited < bound {
		t.Errorf("the reply came after %v, before the bound %v", waited, bound)
	}
	if st := ep.PubSubStats(); st.JoinWaitsExpired != 1 || st.Pending != 1 {
		t.Errorf("stats %+v, want one expired wait, the subscription pending", st)
	}
	c.send(`["1","2","room:a","echo",{"x":1}]`) // the channel runs
	c.expect(`["1","2","room:a","phx_reply",{"status":"ok","response":{"x":1}}]`)
}

// TestJoinAwaitsSubscriptionLeaveOrRejoin: a channel left or joined again
// while its join reply waits gets no reply; the new join's reply comes
// once the subscription lands, followed by the phx_close of the one it
// replaced, as Phoenix orders them.
func TestJoinAwaitsSubscriptionLeaveOrRejoin(t *testing.T) {
	ps := newStall(true)
	ep, rec := newEndpoint(t, phx.Config{PubSub: ps, JoinAwaitsSubscription: waitTimeout})
	c := open(t, ep)
	sendAll(t, c, `["1","1","room:a","phx_join",{}]`, `["1","2","room:a","phx_leave",{}]`)
	c.expect(`["1","2","room:a","phx_reply",`+okEmpty+`]`, `["1","1","room:a","phx_close",{}]`)
	// The broker may have called Subscribe before the leave dropped the
	// interest (then Unsubscribe follows it) or not at all: let the calls
	// it made return, so that room:b's below are the only ones blocked.
	waitFor(t, "room:a's interest settled", func() bool {
		if ep.PubSubStats().Pending == 0 && ps.blockedNow() == 0 {
			return true
		}
		select {
		case ps.step <- struct{}{}:
		case <-time.After(time.Millisecond):
		}
		return false
	})
	if calls := fmt.Sprint(ps.callLog()); calls != "[]" && calls != "[sub room:a unsub room:a]" {
		t.Fatalf("adapter calls %s, want none or a subscription undone", calls)
	}
	c.expectNothing()

	sendAll(t, c, `["3","3","room:b","phx_join",{}]`, `["4","4","room:b","phx_join",{}]`)
	waitFor(t, "Subscribe of room:b called", func() bool { return ps.blockedNow() >= 1 })
	c.expectNothing()
	ps.step <- struct{}{}
	c.expect(`["4","4","room:b","phx_reply",`+okEmpty+`]`, `["3","3","room:b","phx_close",{}]`)
	c.expectNothing()
	rec.expectReason(t, "room:a", "1", phx.ErrLeft)
	rec.expectReason(t, "room:b", "3", phx.ErrDuplicateJoin)
}

// TestJoinAwaitsSubscriptionSessionEnds: a session that ends while a join
// reply waits leaves nothing running (goleak in TestMain) and the channel
// is terminated.
func TestJoinAwaitsSubscriptionSessionEnds(t *testing.T) {
	ps := newStall(true)
	ep, rec := newEndpoint(t, phx.Config{PubSub: ps, JoinAwaitsSubscription: time.Hour})
	c := open(t, ep)
	sendAll(t, c, `["1","1","room:a","phx_join",{}]`)
	waitFor(t, "Subscribe called", func() bool { return ps.blockedNow() == 1 })
	c.Sess.Close(phx.ErrDisconnected)
	rec.expectReason(t, "room:a", "1", phx.ErrDisconnected)
}

// unhang lets the adapter's calls return at once from now on, those
// blocked included.
func unhang(p *stallPubSub) {
	p.mu.Lock()
	p.hung = false
	p.mu.Unlock()
	for p.blockedNow() > 0 {
		select {
		case p.step <- struct{}{}:
		case <-time.After(time.Millisecond):
		}
	}
}

// TestJoinAwaitsSubscriptionDuringUnsubscribe: a topic joined again while
// the Unsubscribe of its previous subscription hangs is answered once the
// topic is subscribed again, not on the strength of the old subscription.
func TestJoinAwaitsSubscriptionDuringUnsubscribe(t *testing.T) {
	ps := newStall(true)
	ep, _ := newEndpoint(t, phx.Config{PubSub: ps, JoinAwaitsSubscription: waitTimeout})
	c := open(t, ep)
	sendAll(t, c, `["1","1","room:a","phx_join",{}]`)
	waitFor(t, "Subscribe called", func() bool { return ps.blockedNow() == 1 })
	ps.step <- struct{}{}
	c.expect(`["1","1","room:a","phx_reply",` + okEmpty + `]`)
	sendAll(t, c, `["1","2","room:a","phx_leave",{}]`)
	c.expect(`["1","2","room:a","phx_reply",`+okEmpty+`]`, `["1","1","room:a","phx_close",{}]`)
	waitFor(t, "Unsubscribe called", func() bool { return ps.blockedNow() == 1 })
	sendAll(t, c, `["3","3","room:a","phx_join",{}]`)
	c.expectNothing()     // the old subscription is going away
	ps.step <- struct{}{} // Unsubscribe returns; Subscribe comes next
	waitFor(t, "Subscribe called again", func() bool { return ps.blockedNow() == 1 })
	c.expectNothing()
	ps.step <- struct{}{}
	c.expect(`["3","3","room:a","phx_reply",` + okEmpty + `]`)
	if calls := ps.callLog(); len(calls) != 3 || calls[2] != "sub room:a" {
		t.Errorf("adapter calls %v, want sub, unsub, sub", calls)
	}
}

// TestJoinAwaitsSubscriptionChurn: joins and leaves of new topics while
// the broker hangs hold nothing once left: a waiting join reply ends with
// its channel, not when its wait runs out, so a client cannot pile up
// waits by churning topics. The adapter's workers are all busy first, so
// the topics churned stay queued, their subscriptions never settled.
func TestJoinAwaitsSubscriptionChurn(t *testing.T) {
	ps := newStall(true)
	const workers = 2
	ep, _ := newEndpoint(t, phx.Config{PubSub: ps, JoinAwaitsSubscription: time.Hour, SubscribeConcurrency: workers})
	c := open(t, ep)
	for i := range workers {
		sendAll(t, c, fmt.Sprintf(`["h%d","h%d","room:held%d","phx_join",{}]`, i, i, i))
	}
	waitFor(t, "the workers busy", func() bool { return ps.blockedNow() == workers })
	base := runtime.NumGoroutine()
	const n = 200
	for i := range n {
		ref := strconv.Itoa(i + 1)
		topic := "room:churn" + ref
		sendAll(t, c, `["`+ref+`","`+ref+`","`+topic+`","phx_join",{}]`, `["`+ref+`","x","`+topic+`","phx_leave",{}]`)
		c.expect(`["`+ref+`","x","`+topic+`","phx_reply",`+okEmpty+`]`, `["`+ref+`","`+ref+`","`+topic+`","phx_close",{}]`)
	}
	waitFor(t, "the waits of the channels left ended", func() bool { return runtime.NumGoroutine() < base+n/4 })
	if b := ps.blockedNow(); b != workers {
		t.Errorf("%d adapter calls blocked, want the %d of the held topics (no churned topic settled)", b, workers)
	}
}
