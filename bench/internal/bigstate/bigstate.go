// Package bigstate is the LiveState channel of row 4: a state of about 1 MB
// of JSON in which one event changes one deeply nested number.
package bigstate

import (
	"context"
	"fmt"
	"strings"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// State is the synced state.
type State struct {
	Title string `json:"title"`
	Items []Item `json:"items"`
}

// Item is one list entry (about 520 bytes of JSON).
type Item struct {
	ID     int      `json:"id"`
	Name   string   `json:"name"`
	Tags   []string `json:"tags"`
	Detail Detail   `json:"detail"`
	Text   string   `json:"text"`
}

// Detail is the nested part of an item.
type Detail struct {
	Owner   string         `json:"owner"`
	Score   float64        `json:"score"`
	Counter int            `json:"counter"`
	Attrs   map[string]int `json:"attrs"`
}

// Touched is the index of the item whose detail.counter each event bumps:
// the patch is [{"op":"replace","path":"/items/<Touched>/detail/counter",…}].
func Touched(s *State) int { return len(s.Items) / 2 }

// New builds a state of about size bytes of JSON.
func New(size int) State {
	n := max(size/520, 1)
	text := strings.Repeat("lorem ipsum dolor sit amet ", 12)
	s := State{Title: "bench", Items: make([]Item, n)}
	for i := range s.Items {
		s.Items[i] = Item{
			ID: i, Name: fmt.Sprintf("item-%06d", i),
			Tags: []string{"alpha", "beta", "gamma"},
			Detail: Detail{Owner: fmt.Sprintf("user-%d", i%97), Score: float64(i) / 7,
				Attrs: map[string]int{"a": i, "b": i * 2, "c": i * 3}},
			Text: text,
		}
	}
	return s
}

// Channel is the LiveState channel: Init builds the state, the event
// "touch" bumps one deep counter.
type Channel struct{ Size int }

// Init implements livestate.Channel.
func (c Channel) Init(context.Context, *livestate.Socket, phx.Payload) (State, error) {
	return New(c.Size), nil
}

// HandleEvent implements livestate.Channel.
func (c Channel) HandleEvent(_ context.Context, _ *livestate.Socket, event string, _ phx.Payload, s *State) error {
	if event != "touch" {
		return fmt.Errorf("unknown event %q", event)
	}
	s.Items[Touched(s)].Detail.Counter++
	return nil
}

// Handler returns the channel kind for Registry.Handle.
func Handler(size int) phx.Handler {
	return livestate.New(func() livestate.Channel[State] { return Channel{Size: size} }, livestate.Options{})
}
