package shop

import (
	"context"
	"fmt"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// LobbyState is the state of a lobby topic, shared by all
// its clients. They receive it as encoding/json encodes it, then JSON
// patches of each change.
type LobbyState struct {
	Count int `json:"count"`
}

// LobbyChannel serves the topics "lobby:*": one state per
// topic, made by Init when its first client joins, changed by any client's
// events and synced to all of them.
type LobbyChannel struct{}

// HandleLobby registers the channel in reg for the topics
// "lobby:*".
func HandleLobby(reg *livestate.Registry) {
	reg.Handle("lobby:*", livestate.NewShared[LobbyState](&LobbyChannel{}, livestate.Options{}))
}

// Init builds the state of a topic when its first client joins.
func (c *LobbyChannel) Init(ctx context.Context, topic string) (LobbyState, error) {
	return LobbyState{}, nil
}

// HandleEvent applies a client's event (lvs_evt:NAME in the protocol,
// pushEvent(NAME, payload) in phx-live-state) to the topic's state; every
// client of the topic receives the change. An error is pushed to the
// sender as an "error" event.
func (c *LobbyChannel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, payload phx.Payload, state *LobbyState) error {
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
