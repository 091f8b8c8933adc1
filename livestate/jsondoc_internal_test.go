package livestate

import (
	"strings"
	"testing"
)

// TestDocRollback: checkpoint, every kind of edit, rollback gives back the
// document, its size and its pending patch as they were.
func TestDocRollback(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pending bool // an edit recorded before the checkpoint
		edits   func(d *Doc)
	}{
		{"members", false, func(d *Doc) {
			d.Set("/title", "changed")
			d.Set("/owner", "new")
			d.Remove("/n")
		}},
		{"elements", true, func(d *Doc) {
			d.Insert("/items/0", "first")
			d.Set("/items/-", "last")
			d.Set("/items/1", "replaced")
			d.Remove("/items/2")
			d.Set("/items/0", map[string]any{"deep": []int{1, 2}})
			d.Set("/items/0/deep/1", 3)
		}},
		{"root and overflow", false, func(d *Doc) {
			d.Remove("/items")
			d.Set("", map[string]int{"root": 1})
			for i := 0; i < 50; i++ {
				d.Set("/k", i) // the pending patch outgrows the document
			}
		}},
		{"overflow with a patch pending", true, func(d *Doc) {
			for i := 0; i < 50; i++ {
				d.Set("/title", "a long enough title to overflow the patch quickly")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pad := strings.Repeat("p", 300) // room for the element edits' patch
			d, err := NewDoc(map[string]any{"title": "t", "n": 1, "items": []string{"a", "b", "c"}, "pad": pad})
			if err != nil {
				t.Fatal(err)
			}
			if tc.pending {
				d.Set("/n", 2)
			}
			before, size := string(d.appendJSON(nil)), d.Size()
			d.checkpoint()
			tc.edits(d)
			if string(d.appendJSON(nil)) == before {
				t.Fatal("the edits changed nothing")
			}
			d.rollback()
			if got := string(d.appendJSON(nil)); got != before || d.Size() != size || len(got) != size {
				t.Errorf("after rollback: %s (size %d, encoded %d), want %s (size %d)", got, d.Size(), len(got), before, size)
			}
			patch, ok := d.TakePatch()
			switch {
			case tc.pending && tc.name == "overflow with a patch pending":
				if ok {
					t.Errorf("patch %s ok, want not ok: the pending operation was lost with the overflow", patch)
				}
			case tc.pending:
				if !ok || string(patch) != `[{"op":"replace","path":"/n","value":2}]` {
					t.Errorf("pending patch %s %v, want the edit before the checkpoint", patch, ok)
				}
			default:
				if !ok || len(patch) != 0 {
					t.Errorf("pending patch %s %v, want none", patch, ok)
				}
			}
		})
	}
}
