package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/seance-go/seance/internal/jsonpatch"
)

// textEncoder writes trees as JSON text in the ways other encoders may:
// keys in random order, random whitespace, characters escaped needlessly.
type textEncoder struct {
	r       *rand.Rand
	shuffle bool // keys in random order (else sorted)
	noise   bool // random whitespace and needless escapes
}

func (e *textEncoder) ws(dst []byte) []byte {
	if e.noise && e.r.IntN(4) == 0 {
		return append(dst, " \n\t\r"[:1+e.r.IntN(4)]...)
	}
	return dst
}

func (e *textEncoder) str(dst []byte, s string) []byte {
	if !e.noise || e.r.IntN(3) != 0 {
		b, _ := json.Marshal(s)
		return append(dst, b...)
	}
	dst = append(dst, '"')
	for _, c := range s {
		switch {
		case c == '/' && e.r.IntN(2) == 0:
			dst = append(dst, `\/`...)
		case c < 0x80 && c >= 0x20 && c != '"' && c != '\\' && e.r.IntN(3) == 0:
			dst = fmt.Appendf(dst, `\u%04x`, c)
		default:
			b, _ := json.Marshal(string(c))
			dst = append(dst, b[1:len(b)-1]...)
		}
	}
	return append(dst, '"')
}

func (e *textEncoder) value(dst []byte, v any) []byte {
	dst = e.ws(dst)
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if e.shuffle {
			e.r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		}
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = e.ws(dst)
			dst = e.str(dst, k)
			dst = e.ws(dst)
			dst = append(dst, ':')
			dst = e.value(dst, v[k])
		}
		dst = e.ws(dst)
		dst = append(dst, '}')
	case []any:
		dst = append(dst, '[')
		for i, x := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = e.value(dst, x)
		}
		dst = e.ws(dst)
		dst = append(dst, ']')
	case string:
		dst = e.str(dst, v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		dst = append(dst, b...)
	}
	return e.ws(dst)
}

func textOf(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkText diffs two texts and checks the patch against their decoded
// values.
func checkText(t testing.TB, prev, next []byte) []byte {
	t.Helper()
	patch, err := Tree().(BytesDiffer).DiffBytes(prev, next)
	if err != nil {
		t.Fatalf("DiffBytes(%s, %s): %v", prev, next, err)
	}
	pv, err := jsonpatch.Decode(prev)
	if err != nil {
		t.Fatal(err)
	}
	nv, err := jsonpatch.Decode(next)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkPatch(pv, nv, patch); err != nil {
		t.Fatalf("prev %s\nnext %s\npatch %s\n%v", prev, next, patch, err)
	}
	if len(patch) > 0 && !json.Valid(patch) {
		t.Fatalf("patch is not valid JSON: %s", patch)
	}
	// AppendDiffBytes appends the same patch to a caller's buffer.
	dst := append(make([]byte, 0, 8), "head:"...)
	got, err := Tree().(BytesAppender).AppendDiffBytes(dst, prev, next)
	if err != nil || string(got) != "head:"+string(patch) {
		t.Fatalf("AppendDiffBytes(head:, %s, %s) = %s, %v; want head:%s", prev, next, got, err, patch)
	}
	return patch
}

func TestDiffBytesTable(t *testing.T) {
	cases := []struct{ prev, next, want string }{
		{`{"a":1}`, `{"a":1}`, ``},
		{`{"a":1}`, `{"a":2}`, `[{"op":"replace","path":"/a","value":2}]`},
		{`{"a":12,"b":1}`, `{"a":123,"b":1}`, `[{"op":"replace","path":"/a","value":123}]`},
		{`[1,2]`, `[1,2,3]`, `[{"op":"add","path":"/-","value":3}]`},
		{`[1,2,3]`, `[1]`, `[{"op":"remove","path":"/2"},{"op":"remove","path":"/1"}]`},
		{`{"a/b":{"~":1}}`, `{"a/b":{"~":2}}`, `[{"op":"replace","path":"/a~1b/~0","value":2}]`},
		{`{"a\/b":1}`, `{"a\/b":2}`, `[{"op":"replace","path":"/a~1b","value":2}]`},
		{`{"x":1,"y":2}`, `{"y":2,"x":1}`, ``},
		{`{"x":1,"y":2}`, `{"y":3,"z":1}`, `[{"op":"remove","path":"/x"},{"op":"replace","path":"/y","value":3},{"op":"add","path":"/z","value":1}]`},
		{`{"x":1,"y":2}`, `{"z":1,"x":2}`, `[{"op":"remove","path":"/y"},{"op":"add","path":"/z","value":1},{"op":"replace","path":"/x","value":2}]`},
		{`{"b":1,"a":2}`, `{"a":2,"a":3}`, `[{"op":"replace","path":"","value":{"a":2,"a":3}}]`},
		{`1`, `{"a":1}`, `[{"op":"replace","path":"","value":{"a":1}}]`},
		{` {"a" : [ 1 , 2 ] } `, `{"a":[1,2]}`, ``},
		{`{"a":[1,2]}`, ` {"a" : [ 1 , 3 ] } `, `[{"op":"replace","path":"/a/1","value":3}]`},
		// keyed arrays: one operation for an insert or removal
		{`[{"id":1,"t":"a"},{"id":2,"t":"b"},{"id":3,"t":"c"}]`, `[{"id":2,"t":"b"},{"id":3,"t":"c"}]`, `[{"op":"remove","path":"/0"}]`},
		{`[{"id":"a"},{"id":"b"}]`, `[{"id":"a"},{"id":"x","v":1},{"id":"b"}]`, `[{"op":"add","path":"/1","value":{"id":"x","v":1}}]`},
		{`[{"id":1,"v":1},{"id":2}]`, `[{"id":0},{"id":1,"v":2},{"id":2}]`, `[{"op":"add","path":"/0","value":{"id":0}},{"op":"replace","path":"/1/v","value":2}]`},
		{`{"s":"<\u0026>"}`, `{"s":"<&>"}`, `[{"op":"replace","path":"/s","value":"<&>"}]`},
	}
	for _, c := range cases {
		got := checkText(t, []byte(c.prev), []byte(c.next))
		if string(got) != c.want {
			t.Errorf("DiffBytes(%s, %s)\n got %s\nwant %s", c.prev, c.next, got, c.want)
		}
	}
}

func TestDiffBytesInvalid(t *testing.T) {
	for _, c := range [][2]string{
		{`{"a":1}`, ``},
		{`{"a":1}`, `{"a":`},
		{`{"a":1}`, `{"a" 1}`},
		{`{"a":1}`, `{"a":"x}`},
		{`{"a":1}`, `{"a":1} 2`},
		{`[1,2]`, `[1,,2]`},
		{`[1,2]`, `[1 2]`},
		{`{"a":1}`, `{a:1}`},
		{`[1]`, `[}`},
		{`{"a":[1,2]}`, `{"a":[1,2}`},
	} {
		if patch, err := Tree().(BytesDiffer).DiffBytes([]byte(c[0]), []byte(c[1])); err == nil {
			t.Logf("DiffBytes(%s, %s) = %s (malformed input not detected here)", c[0], c[1], patch)
		}
	}
	// Some malformed inputs must be reported.
	for _, c := range [][2]string{{`{"a":1}`, ``}, {`{"a":1}`, `{"a":`}, {`[1,2]`, `[1 2]`}, {`{"a":1}`, `{"a":1} 2`}} {
		if _, err := Tree().(BytesDiffer).DiffBytes([]byte(c[0]), []byte(c[1])); err == nil {
			t.Errorf("DiffBytes(%s, %s): no error", c[0], c[1])
		}
		if got, err := Tree().(BytesAppender).AppendDiffBytes([]byte("head:"), []byte(c[0]), []byte(c[1])); err == nil || string(got) != "head:" {
			t.Errorf("AppendDiffBytes(head:, %s, %s) = %s, %v; want head: and an error", c[0], c[1], got, err)
		}
	}
}

// TestDiffBytesProperty: random pairs encoded like encoding/json, with keys
// shuffled, and with whitespace and needless escapes; every patch must turn
// prev into next.
func TestDiffBytesProperty(t *testing.T) {
	seed := testSeed(t)
	g := newGen(seed)
	r := rand.New(rand.NewPCG(uint64(seed), 7))
	const n = 3000
	for i := 0; i < n; i++ {
		prev, next := g.pair()
		var pt, nt []byte
		switch i % 3 {
		case 0:
			pt, nt = textOf(t, prev), textOf(t, next)
		case 1:
			e := &textEncoder{r: r, shuffle: true}
			pt, nt = e.value(nil, prev), e.value(nil, next)
		default:
			e := &textEncoder{r: r, shuffle: r.IntN(2) == 0, noise: true}
			pt, nt = e.value(nil, prev), e.value(nil, next)
		}
		checkText(t, pt, nt)
	}
}

// TestDiffBytesMatchesTree: on encoding/json texts, DiffBytes finds patches
// of the same operations as Diff on the decoded trees.
func TestDiffBytesMatchesTree(t *testing.T) {
	seed := testSeed(t)
	g := newGen(seed)
	same := 0
	const n = 2000
	for i := 0; i < n; i++ {
		prev, next := g.pair()
		pt, nt := textOf(t, prev), textOf(t, next)
		bp := checkText(t, pt, nt)
		pv, _ := jsonpatch.Decode(pt)
		nv, _ := jsonpatch.Decode(nt)
		tp, err := Tree().Diff(pv, nv)
		if err != nil {
			t.Fatal(err)
		}
		if opCount(t, bp) == opCount(t, tp) {
			same++
		}
	}
	// Both follow the same rules; they differ only in the order of keys
	// they visit and in numbers both encodings print alike.
	if same < n*9/10 {
		t.Errorf("same operation count for %d of %d pairs", same, n)
	}
}

func opCount(t testing.TB, patch []byte) int {
	if len(patch) == 0 {
		return 0
	}
	var ops []any
	if err := json.Unmarshal(patch, &ops); err != nil {
		t.Fatal(err)
	}
	return len(ops)
}

// TestDiffBytesLargeDocument exercises the common prefix and suffix
// shortcuts: one change deep inside a large document, two far apart, an
// insertion and a removal in a long keyed list.
func TestDiffBytesLargeDocument(t *testing.T) {
	doc := func() map[string]any {
		secs := []any{}
		for s := 0; s < 60; s++ {
			items := []any{}
			for i := 0; i < 20; i++ {
				items = append(items, map[string]any{"id": float64(s*100 + i), "v": strings.Repeat("x", 50), "n": float64(i)})
			}
			secs = append(secs, map[string]any{"id": float64(s), "name": "s" + strconv.Itoa(s), "items": items})
		}
		return map[string]any{"sections": secs, "z": "end"}
	}
	item := func(d map[string]any, s, i int) map[string]any {
		return d["sections"].([]any)[s].(map[string]any)["items"].([]any)[i].(map[string]any)
	}
	prev := doc()
	pt := textOf(t, prev)

	next := doc()
	item(next, 31, 7)["n"] = float64(1234)
	if got := string(checkText(t, pt, textOf(t, next))); got != `[{"op":"replace","path":"/sections/31/items/7/n","value":1234}]` {
		t.Errorf("deep change: %s", got)
	}

	next = doc()
	item(next, 2, 1)["v"] = "changed"
	item(next, 57, 19)["v"] = "changed too"
	if got := opCount(t, checkText(t, pt, textOf(t, next))); got != 2 {
		t.Errorf("two changes: %d operations", got)
	}

	next = doc()
	sec := next["sections"].([]any)[10].(map[string]any)
	sec["items"] = append([]any{map[string]any{"id": "new"}}, sec["items"].([]any)...)
	if got := string(checkText(t, pt, textOf(t, next))); got != `[{"op":"add","path":"/sections/10/items/0","value":{"id":"new"}}]` {
		t.Errorf("insertion: %s", got)
	}

	next = doc()
	sec = next["sections"].([]any)[10].(map[string]any)
	sec["items"] = sec["items"].([]any)[1:]
	if got := string(checkText(t, pt, textOf(t, next))); got != `[{"op":"remove","path":"/sections/10/items/0"}]` {
		t.Errorf("removal: %s", got)
	}
	next = doc()
	next["sections"] = next["sections"].([]any)[1:]
	if got := string(checkText(t, pt, textOf(t, next))); got != `[{"op":"remove","path":"/sections/0"}]` {
		t.Errorf("first section removed: %s", got)
	}
}

func FuzzDiffBytes(f *testing.F) {
	for _, s := range [][2]string{
		{`{"a":1}`, `{"a":2}`},
		{`[{"id":1},{"id":2}]`, `[{"id":2}]`},
		{`{"a":{"b":[1,2,3]},"c":"x"}`, `{"c":"y","a":{"b":[1,3]}}`},
		{`"s"`, `["s"]`},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, prev, next string) {
		patch, err := Tree().(BytesDiffer).DiffBytes([]byte(prev), []byte(next))
		if !json.Valid([]byte(prev)) || !json.Valid([]byte(next)) {
			return // must only not crash
		}
		if err != nil {
			t.Fatalf("valid texts: %v", err)
		}
		pv, err1 := jsonpatch.Decode([]byte(prev))
		nv, err2 := jsonpatch.Decode([]byte(next))
		if err1 != nil || err2 != nil {
			return
		}
		if bytes.Equal([]byte(prev), []byte(next)) || hasRepeatedKey([]byte(prev)) || hasRepeatedKey([]byte(next)) {
			return // repeated keys are not supported
		}
		if err := checkPatch(pv, nv, patch); err != nil {
			t.Fatalf("prev %s next %s patch %s: %v", prev, next, patch, err)
		}
	})
}

// hasRepeatedKey reports whether some object of the text repeats a key.
func hasRepeatedKey(text []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(text))
	type frame struct {
		keys   map[string]bool
		object bool
		key    bool // the next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack = append(stack, &frame{keys: map[string]bool{}, object: true, key: true})
			case '[':
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					stack[len(stack)-1].key = true
				}
			}
			continue
		}
		if top != nil && top.object {
			if top.key {
				k := tok.(string)
				if top.keys[k] {
					return true
				}
				top.keys[k] = true
				top.key = false
			} else {
				top.key = true
			}
		}
	}
}

// BenchmarkDiffBytes runs DiffBytes on the texts of BenchmarkDiff's cases
// (compare with its tree sub-benchmarks, which start from decoded trees).
func BenchmarkDiffBytes(b *testing.B) {
	for _, c := range benchCases() {
		pt, nt := textOf(b, c.prev), textOf(b, c.next)
		b.Run(c.name, func(b *testing.B) {
			d := Tree().(BytesDiffer)
			b.ReportAllocs()
			b.SetBytes(int64(len(nt)))
			var patch []byte
			for b.Loop() {
				var err error
				patch, err = d.DiffBytes(pt, nt)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(patch)), "patch-B")
		})
	}
}

// TestDiffBytesPointChanges: large documents with a few changes at random
// places, where the common prefix and suffix shortcuts do most of the work.
func TestDiffBytesPointChanges(t *testing.T) {
	seed := testSeed(t)
	g := newGen(seed)
	r := g.r
	big := func() any {
		m := map[string]any{}
		for i := 0; i < 30; i++ {
			s := []any{}
			for j := 0; j < 1+r.IntN(10); j++ {
				s = append(s, map[string]any{"id": float64(i*100 + j), "v": g.value(2), "w": g.value(2)})
			}
			m["k"+strconv.Itoa(i)] = s
		}
		return m
	}
	// change edits one random place of v (a deep copy) and returns it.
	var change func(v any, depth int) any
	change = func(v any, depth int) any {
		switch x := v.(type) {
		case map[string]any:
			if len(x) == 0 || r.IntN(6) == 0 {
				x[g.key()] = g.value(3)
				return x
			}
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			k := keys[r.IntN(len(keys))]
			if r.IntN(8) == 0 {
				delete(x, k)
				return x
			}
			x[k] = change(x[k], depth+1)
			return x
		case []any:
			switch {
			case len(x) == 0 || r.IntN(6) == 0:
				i := r.IntN(len(x) + 1)
				return slices.Insert(x, i, any(map[string]any{"id": "new" + strconv.Itoa(r.IntN(1000))}))
			case r.IntN(6) == 0:
				i := r.IntN(len(x))
				return slices.Delete(x, i, i+1)
			}
			i := r.IntN(len(x))
			x[i] = change(x[i], depth+1)
			return x
		}
		return g.scalar()
	}
	for c := 0; c < 150; c++ {
		prev := big()
		next := deepCopy(prev)
		for n := 1 + r.IntN(3); n > 0; n-- {
			next = change(next, 0)
		}
		checkText(t, textOf(t, prev), textOf(t, next))
	}
}
