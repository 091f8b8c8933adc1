// Package bigstate holds the LiveState channels of row 4: a state of about
// 1 MB of JSON in which one event changes one deeply nested number, held
// either as a typed Go struct ([Channel], big:*) or as a [livestate.Doc]
// changed by one Doc.Set ([DocChannel], bigdoc:*).
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

// NewDoc builds the same state as New, held in a livestate.Doc.
func NewDoc(size int) (*livestate.Doc, error) {
	s := New(size)
	return livestate.NewDoc(&s)
}

// CounterPointer is the JSON pointer of the counter each event bumps in a
// document built by NewDoc: the same field [Touched] names.
func CounterPointer(d *livestate.Doc) (string, error) {
	n, err := d.Len("/items")
	if err != nil {
		return "", err
	}
	return livestate.Pointer("items", n/2, "detail", "counter"), nil
}

// Touch bumps the counter of a document built by NewDoc: one Decode of the
// counter and one Doc.Set, which records the one-operation patch.
func Touch(d *livestate.Doc) error {
	ptr, err := CounterPointer(d)
	if err != nil {
		return err
	}
	var n int
	if err := d.Decode(ptr, &n); err != nil {
		return err
	}
	return d.Set(ptr, n+1)
}

// DocChannel is the LiveState channel of the document form: Init builds
// the state with NewDoc, the event "touch" bumps the same deep counter as
// [Channel] does, with one Doc.Set.
type DocChannel struct{ Size int }

// Init implements livestate.Channel.
func (c DocChannel) Init(context.Context, *livestate.Socket, phx.Payload) (*livestate.Doc, error) {
	return NewDoc(c.Size)
}

// HandleEvent implements livestate.Channel.
func (c DocChannel) HandleEvent(_ context.Context, _ *livestate.Socket, event string, _ phx.Payload, d **livestate.Doc) error {
	if event != "touch" {
		return fmt.Errorf("unknown event %q", event)
	}
	return Touch(*d)
}

// DocHandler returns the document channel kind for Registry.Handle.
func DocHandler(size int) phx.Handler {
	return livestate.New(func() livestate.Channel[*livestate.Doc] { return DocChannel{Size: size} }, livestate.Options{})
}
