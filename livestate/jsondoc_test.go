package livestate_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/seance-go/seance/internal/jsonpatch"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/livestate/livestatetest"
	"github.com/seance-go/seance/phx"
)

func mustDoc(t testing.TB, v any) *livestate.Doc {
	t.Helper()
	d, err := livestate.NewDoc(v)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func docJSON(t testing.TB, d *livestate.Doc) string {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func take(t testing.TB, d *livestate.Doc) string {
	t.Helper()
	p, ok := d.TakePatch()
	if !ok {
		return "FULL"
	}
	return string(p)
}

func TestDocEdits(t *testing.T) {
	type item struct {
		ID    int    `json:"id"`
		Title string `json:"title"`
	}
	d := mustDoc(t, map[string]any{"todos": []item{{1, "a"}, {2, "b"}}, "filter": "all", "a/b": map[string]int{"~": 1}, "pad": "0123456789012345678901234567890123456789012345678901234567890123456789"})
	if got := take(t, d); got != "" {
		t.Errorf("fresh doc has a patch: %s", got)
	}
	steps := []struct {
		edit  func() error
		patch string
	}{
		{func() error { return d.Set("/filter", "done") }, `[{"op":"replace","path":"/filter","value":"done"}]`},
		{func() error { return d.Set("/todos/1/title", "<b>") }, `[{"op":"replace","path":"/todos/1/title","value":"\u003cb\u003e"}]`},
		{func() error { return d.Insert("/todos/0", item{0, "z"}) }, `[{"op":"add","path":"/todos/0","value":{"id":0,"title":"z"}}]`},
		{func() error { return d.Insert("/todos/-", item{3, "c"}) }, `[{"op":"add","path":"/todos/-","value":{"id":3,"title":"c"}}]`},
		{func() error { return d.Set("/todos/4", item{4, "d"}) }, `[{"op":"add","path":"/todos/4","value":{"id":4,"title":"d"}}]`},
		{func() error { return d.Remove("/todos/0") }, `[{"op":"remove","path":"/todos/0"}]`},
		{func() error { return d.Set(livestate.Pointer("a/b", "~"), 2) }, `[{"op":"replace","path":"/a~1b/~0","value":2}]`},
		{func() error { return d.Set("/new", json.RawMessage(`{"x": [1, 2.50]}`)) }, `[{"op":"add","path":"/new","value":{"x":[1,2.50]}}]`},
		{func() error { return d.Remove("/new") }, `[{"op":"remove","path":"/new"}]`},
		{func() error {
			d.Set("/filter", "x")
			return d.Set("/filter", "y")
		}, `[{"op":"replace","path":"/filter","value":"x"},{"op":"replace","path":"/filter","value":"y"}]`},
	}
	for i, st := range steps {
		prev := docJSON(t, d)
		if err := st.edit(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		got := take(t, d)
		if got != st.patch {
			t.Errorf("step %d: patch %s, want %s", i, got, st.patch)
		}
		checkApplies(t, prev, got, d)
		if d.Size() != len(docJSON(t, d)) {
			t.Errorf("step %d: Size %d, encoding %d bytes", i, d.Size(), len(docJSON(t, d)))
		}
	}
	if n, err := d.Len("/todos"); err != nil || n != 4 {
		t.Errorf("Len = %d, %v", n, err)
	}
	var todos []item
	if err := d.Decode("/todos", &todos); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]item{{1, "a"}, {2, "<b>"}, {3, "c"}, {4, "d"}}, todos); d != "" {
		t.Errorf("Decode (-want +got)\n%s", d)
	}
	v, err := d.Get("/todos/0")
	if err != nil {
		t.Fatal(err)
	}
	v.(map[string]any)["title"] = "changed outside"
	if s, _ := d.Get("/todos/0/title"); s != "a" {
		t.Errorf("Get returned the document's own value: title now %v", s)
	}
	if take(t, d) != "" {
		t.Error("reading recorded something")
	}
}

func TestDocErrors(t *testing.T) {
	d := mustDoc(t, map[string]any{"a": []int{1}, "s": "x", "pad": "................................................................"})
	for _, c := range []struct {
		name string
		err  error
		not  bool // any error but ErrNotFound
	}{
		{"set under a missing member", d.Set("/nope/x", 1), false},
		{"set past the end", d.Set("/a/5", 1), false},
		{"set into a string", d.Set("/s/x", 1), false},
		{"bad index", d.Set("/a/01", 1), false},
		{"remove missing", d.Remove("/zzz"), false},
		{"remove past the end", d.Remove("/a/1"), false},
		{"get missing", func() error { _, err := d.Get("/a/1"); return err }(), false},
		{"invalid pointer", d.Set("a", 1), true},
		{"invalid escape", d.Set("/~2", 1), true},
		{"insert into an object", d.Insert("/x", 1), true},
		{"remove the root", d.Remove(""), true},
		{"unencodable", d.Set("/f", func() {}), true},
		{"len of a scalar", func() error { _, err := d.Len("/s"); return err }(), true},
	} {
		switch {
		case c.err == nil:
			t.Errorf("%s: no error", c.name)
		case !c.not && !errors.Is(c.err, livestate.ErrNotFound):
			t.Errorf("%s: %v, want ErrNotFound", c.name, c.err)
		case c.not && errors.Is(c.err, livestate.ErrNotFound):
			t.Errorf("%s: %v is ErrNotFound", c.name, c.err)
		}
	}
	if got := take(t, d); got != "" {
		t.Errorf("failed edits recorded %s", got)
	}
	if !d.Has("/a/0") || d.Has("/a/1") || d.Has("/nope") {
		t.Error("Has")
	}
}

// TestDocLargePatchIsFull: a patch not smaller than the document is not
// returned: the channel sends the whole state.
func TestDocLargePatchIsFull(t *testing.T) {
	d := mustDoc(t, map[string]any{"n": 1})
	d.Set("/n", 2)
	if _, ok := d.TakePatch(); ok {
		t.Error("a patch larger than the document was returned")
	}
	for i := 0; i < 100; i++ {
		d.Set("/n", i)
	}
	if _, ok := d.TakePatch(); ok {
		t.Error("overflowed patch returned")
	}
	if p, ok := d.TakePatch(); !ok || p != nil {
		t.Errorf("after a full take: %s, %v", p, ok)
	}
	var zero livestate.Doc
	if docJSON(t, &zero) != "null" || zero.Size() != 4 {
		t.Errorf("zero Doc %s size %d", docJSON(t, &zero), zero.Size())
	}
	if err := zero.Set("", map[string]any{"a": 1}); err != nil || docJSON(t, &zero) != `{"a":1}` || zero.Size() != 7 {
		t.Errorf("zero Doc Set: %v %s", err, docJSON(t, &zero))
	}
}

func TestPointer(t *testing.T) {
	for _, c := range []struct {
		toks []any
		want string
	}{
		{nil, ""},
		{[]any{"a", 3, "b"}, "/a/3/b"},
		{[]any{"a/b", "~x", ""}, "/a~1b/~0x/"},
		{[]any{"-"}, "/-"},
		{[]any{int64(7)}, "/7"},
	} {
		if got := livestate.Pointer(c.toks...); got != c.want {
			t.Errorf("Pointer(%v) = %q, want %q", c.toks, got, c.want)
		}
	}
}

// docSeed returns the seed of the Doc property test: LIVESTATE_SEED or the
// clock, logged either way.
func docSeed(t testing.TB) uint64 {
	t.Helper()
	if s := os.Getenv("LIVESTATE_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("LIVESTATE_SEED=%q: %v", s, err)
		}
		t.Logf("seed %d (from LIVESTATE_SEED)", seed)
		return seed
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d (reproduce with LIVESTATE_SEED=%d)", seed, seed)
	return seed
}

type docGen struct{ r *rand.Rand }

var docKeys = []string{"a", "b", "id", "", "a/b", "~", "~1", "0", "-", "é", "<&>", `q"`, "k\u2028", "x y"}

func (g docGen) key() string {
	if g.r.IntN(3) == 0 {
		return "k" + strconv.Itoa(g.r.IntN(6))
	}
	return docKeys[g.r.IntN(len(docKeys))]
}

func (g docGen) scalar() any {
	switch g.r.IntN(10) {
	case 0:
		return nil
	case 1:
		return g.r.IntN(2) == 0
	case 2:
		return g.r.IntN(100) - 20
	case 3:
		return []float64{0.5, -2.25, 1e21, 1.5e-7, 3}[g.r.IntN(5)]
	case 4:
		return json.Number([]string{"1", "2.50", "-0", "1e3", "12345678901234567890"}[g.r.IntN(5)])
	case 5:
		return "bad\xffutf8"
	case 6:
		return struct {
			N int    `json:"n"`
			S string `json:"s,omitempty"`
		}{g.r.IntN(5), "tagged"}
	default:
		return []string{"", "x", "hello", "<b>&amp;", "line\nbreak", "\u2028", "日本", `"q"`, "a/b~c"}[g.r.IntN(9)]
	}
}

func (g docGen) value(depth int) any {
	if depth >= 3 || g.r.IntN(3) == 0 {
		return g.scalar()
	}
	if g.r.IntN(2) == 0 {
		m := map[string]any{}
		for n := g.r.IntN(4); n > 0; n-- {
			m[g.key()] = g.value(depth + 1)
		}
		return m
	}
	s := []any{}
	for n := g.r.IntN(4); n > 0; n-- {
		s = append(s, g.value(depth+1))
	}
	return s
}

// locations lists the pointers of every value of a decoded tree.
func locations(v any, at string, out *[]string) {
	*out = append(*out, at)
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			locations(x, at+livestate.Pointer(k), out)
		}
	case []any:
		for i, x := range v {
			locations(x, at+livestate.Pointer(i), out)
		}
	}
}

// edit makes one random edit, valid most of the time.
func (g docGen) edit(t *testing.T, d *livestate.Doc) {
	var tree any
	if err := json.Unmarshal([]byte(docJSON(t, d)), &tree); err != nil {
		t.Fatal(err)
	}
	var locs []string
	locations(tree, "", &locs)
	if g.r.IntN(30) != 0 && len(locs) > 2 {
		// Mostly leave the root and the padding alone, so that most
		// patches stay smaller than the document and get checked.
		locs = slices.DeleteFunc(locs, func(p string) bool { return p == "" || p == "/_pad" })
	}
	at := locs[g.r.IntN(len(locs))]
	var err error
	var valid, refused bool
	switch g.r.IntN(8) {
	case 0, 1: // replace an existing value
		err, valid = d.Set(at, g.value(1)), true
	case 2: // new member or element
		switch tree := mustGet(t, d, at).(type) {
		case map[string]any:
			err, valid = d.Set(at+livestate.Pointer(g.key()), g.value(1)), true
		case []any:
			err, valid = d.Insert(at+livestate.Pointer(g.r.IntN(len(tree)+1)), g.value(1)), true
		default:
			err, refused = d.Set(at+"/x", 1), true // under a scalar
		}
	case 3:
		if _, ok := mustGet(t, d, at).([]any); ok {
			err, valid = d.Insert(at+"/-", g.value(1)), true
		} else {
			err, refused = d.Insert(at+"/-", 1), true
		}
	case 4, 5:
		if at != "" {
			err, valid = d.Remove(at), true
		}
	case 6:
		if n, lerr := d.Len(at); lerr == nil {
			if _, ok := mustGet(t, d, at).([]any); ok {
				err, valid = d.Set(at+livestate.Pointer(n), g.scalar()), true // append by index
			}
		}
	default:
		err, refused = d.Remove(at+"/nope/nope"), true
	}
	if valid && err != nil {
		t.Fatalf("valid edit at %q failed: %v", at, err)
	}
	if refused && err == nil {
		t.Fatalf("invalid edit at %q succeeded", at)
	}
}

func mustGet(t *testing.T, d *livestate.Doc, ptr string) any {
	v, err := d.Get(ptr)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// checkApplies applies patch ("" no change, FULL the whole state) to prev
// and compares the result with the document.
func checkApplies(t testing.TB, prev, patch string, d *livestate.Doc) {
	t.Helper()
	now, err := jsonpatch.Decode([]byte(docJSON(t, d)))
	if err != nil {
		t.Fatal(err)
	}
	if patch == "FULL" {
		return
	}
	before, err := jsonpatch.Decode([]byte(prev))
	if err != nil {
		t.Fatal(err)
	}
	got := before
	if patch != "" {
		ops, err := jsonpatch.Parse([]byte(patch))
		if err != nil {
			t.Fatalf("patch %s: %v", patch, err)
		}
		if got, err = jsonpatch.Apply(before, ops); err != nil {
			t.Fatalf("prev %s\npatch %s\n%v", prev, patch, err)
		}
	}
	if !jsonpatch.Equal(got, now) {
		t.Fatalf("prev %s\npatch %s\ngives %v\ndoc   %s", prev, patch, got, docJSON(t, d))
	}
}

// TestDocProperty: random edit sequences on random documents; after every
// batch the recorded patch, applied to the previous JSON, gives the
// document's JSON, and Size is the length of that JSON.
func TestDocProperty(t *testing.T) {
	seed := docSeed(t)
	g := docGen{rand.New(rand.NewPCG(seed, 0xd0c))}
	const cases = 2500
	full, patched := 0, 0
	for c := 0; c < cases; c++ {
		root := g.value(0)
		if g.r.IntN(4) != 0 {
			m := map[string]any{}
			for n := 1 + g.r.IntN(5); n > 0; n-- {
				m[g.key()] = g.value(1)
			}
			// Large enough that most patches are smaller than the
			// document, so that they are checked.
			m["_pad"] = strings.Repeat("p", 1000)
			root = m
		}
		d := mustDoc(t, root)
		take(t, d)
		for step := 0; step < 4; step++ {
			prev := docJSON(t, d)
			for n := 1 + g.r.IntN(5); n > 0; n-- {
				g.edit(t, d)
			}
			patch := take(t, d)
			if patch == "FULL" {
				full++
			} else if patch != "" {
				patched++
			}
			if patch != "FULL" && patch != "" && len(patch) >= len(docJSON(t, d)) {
				t.Fatalf("case %d: patch of %d bytes for a %d-byte document", c, len(patch), d.Size())
			}
			checkApplies(t, prev, patch, d)
			if got := len(docJSON(t, d)); d.Size() != got {
				t.Fatalf("case %d: Size %d, encoding %d bytes: %s", c, d.Size(), got, docJSON(t, d))
			}
		}
	}
	t.Logf("%d cases: %d batches checked as patches, %d sent whole", cases, patched, full)
	if patched < cases*2 {
		t.Errorf("only %d patches checked", patched)
	}
}

func ExampleDoc() {
	d, err := livestate.NewDoc(map[string]any{"todos": []map[string]any{
		{"id": 1, "title": "write the docs", "done": false},
		{"id": 2, "title": "ship it", "done": false},
	}})
	if err != nil {
		panic(err)
	}
	// In HandleEvent: edit the state in place.
	d.Set(livestate.Pointer("todos", 0, "done"), true)
	d.Insert("/todos/-", map[string]any{"id": 3, "title": "celebrate", "done": false})
	// After it the channel takes the recorded patch and sends it as is.
	patch, _ := d.TakePatch()
	fmt.Println(string(patch))
	out, _ := json.Marshal(d)
	fmt.Println(string(out))
	// Output:
	// [{"op":"replace","path":"/todos/0/done","value":true},{"op":"add","path":"/todos/-","value":{"done":false,"id":3,"title":"celebrate"}}]
	// {"todos":[{"done":true,"id":1,"title":"write the docs"},{"done":false,"id":2,"title":"ship it"},{"done":false,"id":3,"title":"celebrate"}]}
}

// docTodos is a per-client channel whose state is a Doc.
type docTodos struct{}

func (docTodos) Init(ctx context.Context, s *livestate.Socket, p phx.Payload) (*livestate.Doc, error) {
	return livestate.NewDoc(map[string]any{"todos": []Todo{{ID: 1, Title: "one"}, {ID: 2, Title: "two"}}, "note": "a note long enough that small patches are smaller"})
}

func (docTodos) HandleEvent(ctx context.Context, s *livestate.Socket, event string, p phx.Payload, d **livestate.Doc) error {
	var in struct {
		ID    int
		Title string
	}
	p.Decode(&in)
	switch event {
	case "toggle":
		at := livestate.Pointer("todos", in.ID-1, "done")
		var done bool
		if err := (*d).Decode(at, &done); err != nil {
			return err
		}
		return (*d).Set(at, !done)
	case "add":
		return (*d).Insert("/todos/-", Todo{ID: 3, Title: in.Title})
	case "clear":
		return (*d).Set("/todos", []Todo{})
	case "replace":
		nd, err := livestate.NewDoc(map[string]string{"replaced": "yes"})
		*d = nd
		return err
	case "bad":
		(*d).Set("/note", "set before the error")
		return (*d).Remove("/nope")
	}
	return nil
}

// TestDocChannel: a Channel[*Doc] sends the recorded operations as its
// patches, a patch replacing the whole document when they are not smaller
// or the Doc was replaced, and an empty patch when nothing was recorded.
func TestDocChannel(t *testing.T) {
	reg := newRegistry(t)
	reg.Handle("doc:*", livestate.New(func() livestate.Channel[*livestate.Doc] { return docTodos{} }, livestate.Options{}))
	c := livestatetest.Join(t, reg, "doc:1", livestatetest.Options{})
	c.AssertStateChange(`{"note":"a note long enough that small patches are smaller","todos":[{"id":1,"title":"one","done":false},{"id":2,"title":"two","done":false}]}`)
	c.SendEvent("toggle", map[string]int{"id": 2})
	c.AssertStatePatch(`[{"op":"replace","path":"/todos/1/done","value":true}]`)
	c.SendEvent("add", map[string]string{"title": "three"})
	c.AssertStatePatch(`[{"op":"add","path":"/todos/-","value":{"id":3,"title":"three","done":false}}]`)
	c.SendEvent("noop", nil)
	c.AssertStatePatch(`[]`) // nothing recorded: an empty patch (live_state)
	ref := c.SendEvent("bad", nil)
	c.AssertEvent("error", map[string]string{"message": `livestate: "/nope": livestate: no value at JSON pointer`})
	c.AssertStatePatch(`[{"op":"replace","path":"/note","value":"set before the error"}]`)
	c.AssertReply(ref, "error", map[string]string{"reason": `livestate: "/nope": livestate: no value at JSON pointer`})
	c.SendEvent("clear", nil) // the recorded patch outgrew the state: replaced whole
	c.AssertStatePatch(`[{"op":"replace","path":"","value":{"note":"set before the error","todos":[]}}]`)
	c.Refresh()
	c.AssertStateChange(`{"note":"set before the error","todos":[]}`)
	c.SendEvent("replace", nil)
	c.AssertStatePatch(`[{"op":"replace","path":"","value":{"replaced":"yes"}}]`)
	if c.Version() != 6 {
		t.Errorf("version %d, want 6", c.Version())
	}
	c.AssertNoMessage()
}

// TestDocChannelCompact: with CompactWire a Doc sends nothing when nothing
// was recorded and the whole state when the patch is not smaller or the
// Doc was replaced.
func TestDocChannelCompact(t *testing.T) {
	reg := newRegistry(t)
	reg.Handle("doc:*", livestate.New(func() livestate.Channel[*livestate.Doc] { return docTodos{} }, livestate.Options{CompactWire: true}))
	c := livestatetest.Join(t, reg, "doc:1", livestatetest.Options{})
	c.AssertStateChange(`{"note":"a note long enough that small patches are smaller","todos":[{"id":1,"title":"one","done":false},{"id":2,"title":"two","done":false}]}`)
	c.SendEvent("noop", nil)
	c.AssertNoMessage()
	c.SendEvent("toggle", map[string]int{"id": 2})
	c.AssertStatePatch(`[{"op":"replace","path":"/todos/1/done","value":true}]`)
	ref := c.SendEvent("bad", nil) // shortens the note
	c.AssertEvent("error", map[string]string{"message": `livestate: "/nope": livestate: no value at JSON pointer`})
	c.AssertStatePatch(`[{"op":"replace","path":"/note","value":"set before the error"}]`)
	c.AssertReply(ref, "error", map[string]string{"reason": `livestate: "/nope": livestate: no value at JSON pointer`})
	c.SendEvent("clear", nil) // the patch would be larger than the state
	c.AssertStateChange(`{"note":"set before the error","todos":[]}`)
	c.SendEvent("replace", nil)
	c.AssertStateChange(`{"replaced":"yes"}`)
	if c.Version() != 4 {
		t.Errorf("version %d, want 4", c.Version())
	}
	c.AssertNoMessage()
}
