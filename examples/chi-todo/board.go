package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// The demo's shared list: one state per topic held by the server
// (livestate.NewShared), changed by every client in turn, so every client
// sees the same patches with the same versions. The todo lists, by
// contrast, give each client its own state, reloaded from the store.

// boardTopic is the shared list's topic.
const boardTopic = "board:demo"

// BoardState is the state of a shared list.
type BoardState struct {
	Items []BoardItem `json:"items"`
}

// BoardItem is one line of a shared list.
type BoardItem struct {
	ID   int    `json:"id"`
	Text string `json:"text"`
}

// maxBoardItems bounds a shared list.
const maxBoardItems = 50

// boardChannel serves every topic of the shared lists. The state lives
// while clients are joined; it is kept here when the last one leaves, so
// the list is still there when someone comes back.
type boardChannel struct {
	mu   sync.Mutex
	kept map[string]BoardState
}

// Init restores the list kept when its last client left, if any.
func (b *boardChannel) Init(_ context.Context, topic string) (BoardState, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.kept[topic]
	if st.Items == nil {
		st.Items = []BoardItem{}
	}
	return st, nil
}

// CloseTopic keeps the list of a topic nobody is joined to.
func (b *boardChannel) CloseTopic(_ context.Context, topic string, st BoardState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.kept == nil {
		b.kept = map[string]BoardState{}
	}
	b.kept[topic] = st
}

// HandleEvent runs add_item {text} and remove_item {id}, whoever sends
// them; every client of the topic gets the change.
func (b *boardChannel) HandleEvent(_ context.Context, _ *livestate.Socket, event string, payload phx.Payload, st *BoardState) error {
	var p struct {
		Text string `json:"text"`
		ID   int    `json:"id"`
	}
	if err := payload.Decode(&p); err != nil {
		return &InputError{event + ": the payload must be a JSON object"}
	}
	switch event {
	case "add_item":
		text := strings.TrimSpace(p.Text)
		if n := utf8.RuneCountInString(text); n == 0 || n > 80 {
			return &InputError{"an item needs 1 to 80 characters"}
		}
		if len(st.Items) >= maxBoardItems {
			return &InputError{fmt.Sprintf("the list is full (%d items): remove one first", maxBoardItems)}
		}
		id := 1
		for _, it := range st.Items {
			id = max(id, it.ID+1)
		}
		st.Items = append(st.Items, BoardItem{ID: id, Text: text})
		return nil
	case "remove_item":
		for i, it := range st.Items {
			if it.ID == p.ID {
				st.Items = append(st.Items[:i:i], st.Items[i+1:]...)
				return nil
			}
		}
		return &InputError{fmt.Sprintf("no item %d", p.ID)}
	}
	return errors.New("unknown event " + event)
}
