// Package bad has state types that encoding/json cannot encode, for the
// error test of gen types.
package bad

// Bad cannot be encoded.
type Bad struct {
	OK      string                  `json:"ok"`
	Events  chan int                `json:"events"`
	ByPoint map[struct{ X int }]int `json:"by_point"`
	Nested  struct {
		F func() `json:"f"`
	} `json:"nested"`
	Skipped chan int `json:"-"`
}

// Page is generic.
type Page[T any] struct {
	Items []T `json:"items"`
}
