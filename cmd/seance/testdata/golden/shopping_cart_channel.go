package shop

import (
	"context"
	"fmt"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// ShoppingCartState is the state of a shopping_cart channel. The client
// receives it as encoding/json encodes it, then JSON patches of each change.
type ShoppingCartState struct {
	Count int `json:"count"`
}

// ShoppingCartChannel serves one client of a "shopping_cart:*" topic. Its
// fields (none yet) are per-client values that stay on the server.
type ShoppingCartChannel struct{}

// HandleShoppingCart registers the channel in reg for the topics
// "shopping_cart:*".
func HandleShoppingCart(reg *livestate.Registry) {
	reg.Handle("shopping_cart:*", livestate.New(func() livestate.Channel[ShoppingCartState] {
		return &ShoppingCartChannel{}
	}, livestate.Options{}))
}

// Init builds the state of a joining client from its join params.
func (c *ShoppingCartChannel) Init(ctx context.Context, s *livestate.Socket, params phx.Payload) (ShoppingCartState, error) {
	return ShoppingCartState{}, nil
}

// HandleEvent applies the client's event (lvs_evt:NAME in the protocol,
// pushEvent(NAME, payload) in phx-live-state) to the state. An error is
// pushed to the client as an "error" event.
func (c *ShoppingCartChannel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, payload phx.Payload, state *ShoppingCartState) error {
	switch event {
	case "increment":
		var p struct {
			By int `json:"by"`
		}
		if err := payload.Decode(&p); err != nil {
			return fmt.Errorf("increment: %w", err)
		}
		if p.By == 0 {
			p.By = 1
		}
		state.Count += p.By
	default:
		return fmt.Errorf("unknown event %q", event)
	}
	return nil
}
