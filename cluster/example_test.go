package cluster_test

import (
	"context"
	"fmt"

	"github.com/seance-go/seance/cluster"
	"github.com/seance-go/seance/phx"
)

// A node serves a "time" service; any node of the cluster can ask it by
// name. Without a PubSub adapter the only node is this one, named "".
func Example() {
	ep := phx.NewEndpoint(phx.Config{}) // phx.Config{PubSub: redisOrNats} in a cluster
	node := cluster.New(ep, cluster.Options{})
	defer node.Close(context.Background())
	defer ep.Shutdown(context.Background())

	node.Handle("greet", func(ctx context.Context, from string, req []byte) ([]byte, error) {
		return []byte("hello " + string(req)), nil
	})
	resp, err := node.Request(context.Background(), node.Name(), "greet", []byte("gopher"))
	fmt.Println(string(resp), err)
	// Output: hello gopher <nil>
}
