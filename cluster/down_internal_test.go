package cluster

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/seance-go/seance/phx"
)

// TestDownNodesBounded: a Node remembers at most maxDownNodes nodes as
// down, the latest among them, and forgets a node that comes back up.
func TestDownNodesBounded(t *testing.T) {
	ep := phx.NewEndpoint(phx.Config{})
	n := New(ep, Options{})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Close(ctx)
		ep.Shutdown(ctx)
	})
	for i := range 3 * maxDownNodes {
		n.nodeEvent(NodeEvent{Node: "node-" + strconv.Itoa(i)})
	}
	last := "node-" + strconv.Itoa(3*maxDownNodes-1)
	n.mu.Lock()
	size, lastDown := len(n.down), n.down[last]
	n.mu.Unlock()
	if size > maxDownNodes || !lastDown {
		t.Fatalf("%d nodes remembered as down (at most %d), the last one: %v", size, maxDownNodes, lastDown)
	}
	n.nodeEvent(NodeEvent{Node: last, Up: true})
	n.mu.Lock()
	still := n.down[last]
	n.mu.Unlock()
	if still {
		t.Fatal("a node that came back up is still down")
	}
}
