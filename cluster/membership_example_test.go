package cluster_test

import (
	"context"
	"fmt"
	"time"

	"github.com/seance-go/seance/cluster"
	"github.com/seance-go/seance/internal/membus"
	"github.com/seance-go/seance/phx"
)

// The Membership wraps the endpoint's PubSub adapter (Redis or NATS in a
// real deployment; an in-memory bus here) and reports the other nodes as
// they come up and go down.
func ExampleMembership() {
	adapter := membus.New().Node("node-a") // e.g. redis.New(redis.Options{…})
	m := cluster.NewMembership(adapter, cluster.MembershipOptions{DownAfter: 3 * time.Second})
	m.Register("logger", &cluster.Service{
		Nodes: func(ev cluster.NodeEvent) { fmt.Println(ev.Node, "up:", ev.Up) },
	})
	ep := phx.NewEndpoint(phx.Config{PubSub: m}) // runs the membership's loop
	defer ep.Shutdown(context.Background())
	fmt.Println(m.NodeName(), m.Options().Heartbeat)
	// Output: node-a 1s
}
