// Package state is the input of the golden test of gen types: channels
// whose state types use what encoding/json makes of Go types.
package state

import (
	"context"
	"encoding/json"
	"net/netip"
	"time"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// Board is the state of a board channel.
type Board struct {
	// Title is shown above the board.
	Title    string             `json:"title"`
	Columns  []Column           `json:"columns"`
	Labels   map[string]Label   `json:"labels,omitempty"`
	ByID     map[int]*Card      `json:"by_id"`
	Owner    *User              `json:"owner"`
	Editor   *User              `json:"editor,omitempty"`
	Updated  time.Time          `json:"updated"`
	Deadline *time.Time         `json:"deadline,omitempty"`
	Version  int64              `json:"version,string"`
	Public   bool               `json:",omitempty"`
	Secret   string             `json:"-"`
	Dash     string             `json:"-,"`
	Extra    json.RawMessage    `json:"extra"`
	Score    json.Number        `json:"score"`
	Any      any                `json:"any"`
	Matrix   [2][3]float64      `json:"matrix"`
	Raw      []byte             `json:"raw"`
	Digest   [4]byte            `json:"digest"`
	Server   netip.Addr         `json:"server"`
	Color    Color              `json:"color"`
	ByAddr   map[netip.Addr]int `json:"by_addr"`
	Meta     struct {
		Views int `json:"views"`
	} `json:"meta"`
	Page     Page[Card] `json:"page"`
	Tree     *Node      `json:"tree"`
	Kind     Kind       `json:"kind"`
	Empty    struct{}   `json:"empty,omitempty"`
	Zero     Column     `json:"zero,omitzero"`
	Odd      int        `json:"odd-name"`
	private  int
	Audit          // promoted fields
	*Paging        // promoted, and optional: the pointer may be nil
	Named    Audit `json:"named"`
	conflict       // A dropped (two at one depth), B tagged wins
}

// Column is a list of cards.
type Column struct {
	Name  string  `json:"name"`
	Cards []*Card `json:"cards"`
}

// Card is one card.
type Card struct {
	ID   int      `json:"id"`
	Text string   `json:"text"`
	Tags []string `json:"tags,omitempty"`
}

// Label colors cards.
type Label struct {
	Color Color `json:"color"`
}

// User is someone on the board.
type User struct {
	Name string `json:"name"`
}

// Page is a page of items.
type Page[T any] struct {
	Items []T  `json:"items"`
	More  bool `json:"more"`
}

// Node is a tree.
type Node struct {
	Children []Node `json:"children"`
}

// Kind is a named string.
type Kind string

// Color encodes itself as JSON.
type Color struct{ R, G, B uint8 }

// MarshalJSON encodes the color as "#rrggbb".
func (c Color) MarshalJSON() ([]byte, error) { return json.Marshal("#000000") }

// Audit is embedded.
type Audit struct {
	CreatedBy string `json:"created_by"`
	Title     string `json:"title"` // hidden by Board.Title
}

// Paging is embedded through a pointer.
type Paging struct {
	Cursor string `json:"cursor"`
}

type conflict struct {
	left
	right
}

type left struct {
	A int
	B int
}

type right struct {
	A int
	B int `json:"B"`
}

// BoardChannel is a LiveState channel of Board.
type BoardChannel struct{}

// Init implements livestate.Channel.
func (*BoardChannel) Init(ctx context.Context, s *livestate.Socket, params phx.Payload) (Board, error) {
	return Board{}, nil
}

// HandleEvent implements livestate.Channel.
func (*BoardChannel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, payload phx.Payload, st *Board) error {
	return nil
}

// Lobby is the state of a shared channel.
type Lobby []User

type lobbyChannel struct{}

func (lobbyChannel) Init(ctx context.Context, topic string) (Lobby, error) { return nil, nil }

func (lobbyChannel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, payload phx.Payload, st *Lobby) error {
	return nil
}

// notAChannel has an Init but is no channel: its state is not generated.
type notAChannel struct{}

func (notAChannel) Init(ctx context.Context) (Card, error) { return Card{}, nil }

// cardsChannel's state is not a named type: it is declared as CardsState.
type cardsChannel struct{}

func (cardsChannel) Init(ctx context.Context, s *livestate.Socket, params phx.Payload) ([]Card, error) {
	return nil, nil
}

func (cardsChannel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, payload phx.Payload, st *[]Card) error {
	return nil
}
