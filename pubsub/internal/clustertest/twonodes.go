package clustertest

import (
	"bytes"
	"net/http"
	"testing"
)

// The topics TwoNodes uses: a plain room and a LiveState counter.
const (
	Room    = "room:lobby"
	Counter = "counter:shared"
)

// TwoNodes dials a client to each node (c1 to n1, c2 to n2) and checks the
// traffic between them: each client sees the other's shout on Room, a REST
// broadcast on n2 reaches c1, and the Counter of both nodes reacts to one
// REST broadcast and to a client's event (ending at 7). subscribed(topic)
// waits until both nodes hear topic from the broker: the engine subscribes
// a node after it has queued the join reply, so the reply alone does not
// prove it.
func TwoNodes(t *testing.T, n1, n2 *Proc, subscribed func(topic string)) (c1, c2 *Client) {
	t.Helper()
	c1, c2 = Dial(t, n1, "c1"), Dial(t, n2, "c2")
	j1, j2 := c1.Join(Room), c2.Join(Room)
	subscribed(Room)

	// A client on each node sees the other's broadcast.
	c1.Push(j1, Room, "shout", map[string]string{"body": "from c1"})
	f := c2.Expect("c1's shout", IsEvent(Room, "shout"))
	if !bytes.Contains(f.Payload, []byte("from c1")) {
		t.Errorf("c2 got %s", f.Payload)
	}
	c2.Push(j2, Room, "shout", map[string]string{"body": "from c2"})
	c1.Expect("c2's shout", func(f Frame) bool {
		return IsEvent(Room, "shout")(f) && bytes.Contains(f.Payload, []byte("from c2"))
	})

	// A REST broadcast on node 2 reaches node 1's client.
	if st := n2.Broadcast(t, Room, "news", `{"headline":"rest"}`); st != http.StatusOK {
		t.Fatalf("REST broadcast: HTTP %d", st)
	}
	f = c1.Expect("REST broadcast from n2", IsEvent(Room, "news"))
	if !bytes.Contains(f.Payload, []byte(`"rest"`)) {
		t.Errorf("c1 got %s", f.Payload)
	}

	// LiveState counters on both nodes react to one broadcast.
	k1, _ := c1.Join(Counter), c2.Join(Counter)
	subscribed(Counter)
	c1.CounterValue(Counter, 0)
	c2.CounterValue(Counter, 0)
	if st := n2.Broadcast(t, Counter, "inc", `{"by":5}`); st != http.StatusOK {
		t.Fatalf("REST inc: HTTP %d", st)
	}
	c1.CounterValue(Counter, 5)
	c2.CounterValue(Counter, 5)
	c1.Push(k1, Counter, "lvs_evt:inc", map[string]int{"by": 2})
	c1.CounterValue(Counter, 7)
	c2.CounterValue(Counter, 7)
	return c1, c2
}
