// Package other declares a type named like one of package clash's, for
// the golden test of gen types.
package other

// Item is another package's Item.
type Item struct {
	Label string `json:"label"`
}
