// Package clash has a state type reaching two types named Item.
package clash

import "github.com/seance-go/seance/cmd/seance/testdata/other"

// Item is this package's Item.
type Item struct {
	ID int `json:"id"`
}

// State reaches both Items (theirs first).
type State struct {
	Theirs other.Item   `json:"theirs"`
	Mine   Item         `json:"mine"`
	List   []other.Item `json:"list"`
}
