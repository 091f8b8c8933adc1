package bigstate

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

func TestSize(t *testing.T) {
	s := New(1 << 20)
	b, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 900<<10 || len(b) > 1200<<10 {
		t.Fatalf("state is %d bytes, want about 1 MiB", len(b))
	}
}

// TestDocMatchesTyped checks that the document form holds the same JSON as
// the typed state, and that one Touch records exactly the change the typed
// channel makes.
func TestDocMatchesTyped(t *testing.T) {
	const size = 64 << 10
	s := New(size)
	d, err := NewDoc(size)
	if err != nil {
		t.Fatal(err)
	}
	same := func(when string) {
		t.Helper()
		typed, err := json.Marshal(&s)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal(typed, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(doc, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: document differs from the typed state:\ntyped %.300s\ndoc   %.300s", when, typed, doc)
		}
	}
	same("initially")
	d.TakePatch() // what the channel does on join
	for i := 1; i <= 3; i++ {
		s.Items[Touched(&s)].Detail.Counter++
		if err := Touch(d); err != nil {
			t.Fatal(err)
		}
		same(fmt.Sprintf("after touch %d", i))
		patch, ok := d.TakePatch()
		if !ok {
			t.Fatalf("touch %d: no patch recorded", i)
		}
		want := fmt.Sprintf(`[{"op":"replace","path":"/items/%d/detail/counter","value":%d}]`, Touched(&s), i)
		if string(patch) != want {
			t.Fatalf("touch %d: patch %s, want %s", i, patch, want)
		}
	}
}
