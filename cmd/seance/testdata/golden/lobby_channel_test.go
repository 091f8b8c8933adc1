package shop

import (
	"context"
	"testing"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/livestate/livestatetest"
)

func TestLobbyChannel(t *testing.T) {
	reg := livestate.NewRegistry(livestate.Config{})
	HandleLobby(reg)
	t.Cleanup(func() {
		if err := reg.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})

	// Two clients of one topic share its state.
	a := livestatetest.Join(t, reg, "lobby:1", livestatetest.Options{})
	a.AssertState(`{"count":0}`)
	b := livestatetest.Join(t, reg, "lobby:1", livestatetest.Options{})
	b.AssertState(`{"count":0}`)

	a.SendEvent("increment", nil)
	a.AssertState(`{"count":1}`)
	b.AssertState(`{"count":1}`)

	b.SendEvent("increment", map[string]int{"by": 41})
	a.AssertState(`{"count":42}`)
	b.AssertState(`{"count":42}`)

	// An error goes to the sender only.
	b.SendEvent("no_such_event", nil)
	b.AssertEvent("error", map[string]string{"message": `unknown event "no_such_event"`})
	a.AssertNoMessage()

	// Another topic has its own state.
	c := livestatetest.Join(t, reg, "lobby:2", livestatetest.Options{})
	c.AssertState(`{"count":0}`)
}
