package shop

import (
	"context"
	"testing"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/livestate/livestatetest"
)

func TestShoppingCartChannel(t *testing.T) {
	reg := livestate.NewRegistry(livestate.Config{})
	HandleShoppingCart(reg)
	t.Cleanup(func() {
		if err := reg.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})

	c := livestatetest.Join(t, reg, "shopping_cart:1", livestatetest.Options{})
	c.AssertState(`{"count":0}`)

	c.SendEvent("increment", nil)
	c.AssertState(`{"count":1}`)

	c.SendEvent("increment", map[string]int{"by": 41})
	c.AssertState(`{"count":42}`)

	c.SendEvent("no_such_event", nil)
	c.AssertEvent("error", map[string]string{"message": `unknown event "no_such_event"`})

	var st ShoppingCartState
	c.StateInto(&st)
	if st.Count != 42 {
		t.Errorf("count = %d, want 42", st.Count)
	}
}
