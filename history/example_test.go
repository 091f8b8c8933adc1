package history_test

import (
	"context"
	"fmt"

	"github.com/seance-go/seance/history"
	"github.com/seance-go/seance/phx"
)

func Example() {
	ep := phx.NewEndpoint(phx.Config{})
	hist := history.New(history.Options{MaxEntries: 100})
	ep.Handle("room:*", hist.Handler(phx.HandlerFuncs{}))

	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		pos, err := hist.Broadcast(ctx, "room:lobby", "msg", map[string]int{"n": i})
		if err != nil {
			panic(err)
		}
		fmt.Println("offset", pos.Offset, "ref parses:", roundTrips(pos))
	}
	// Output:
	// offset 1 ref parses: true
	// offset 2 ref parses: true
	// offset 3 ref parses: true
}

func roundTrips(p history.Position) bool {
	q, ok := history.ParsePosition(p.String())
	return ok && q == p
}
