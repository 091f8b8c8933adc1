package main

import (
	"reflect"
	"testing"

	"github.com/seance-go/seance/internal/structjson"
)

// TestStatesArePlain: the example's LiveState states are plain structs,
// which livestate diffs field by field instead of encoding them with
// encoding/json and diffing the text (see README, "Large states"): a field
// that breaks that (a pointer, a map of structs) shows here.
func TestStatesArePlain(t *testing.T) {
	for _, typ := range []reflect.Type{
		reflect.TypeFor[TodoState](),
		reflect.TypeFor[BoardState](),
		reflect.TypeFor[ContactFormState](),
	} {
		if structjson.For(typ) == nil {
			t.Errorf("%v takes the general path", typ)
		}
	}
}
