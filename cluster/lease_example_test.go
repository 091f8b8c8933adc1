package cluster_test

import (
	"fmt"

	"github.com/seance-go/seance/cluster"
)

// A receiver drops what a stale lease holder sends once it has seen the
// newer holder's token.
func ExampleFence() {
	var f cluster.Fence
	fmt.Println(f.Admit("board:1", 7)) // the first holder
	fmt.Println(f.Admit("board:1", 9)) // a takeover
	fmt.Println(f.Admit("board:1", 7)) // the old holder, late
	// Output:
	// true
	// true
	// false
}
