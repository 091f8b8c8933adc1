package diff

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decode parses JSON text into a decoded tree (float64 numbers).
func decode(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return v
}

type tableCase struct {
	name       string
	prev, next any
	// tree is Tree's exact expected patch ("" means nil).
	tree string
}

func tableCases(t testing.TB) []tableCase {
	d := func(s string) any { return decode(t, s) }
	return []tableCase{
		{"equal objects", d(`{"a":[1,{"b":null}],"c":"x"}`), d(`{"c":"x","a":[1,{"b":null}]}`), ""},
		{"equal null roots", nil, nil, ""},
		{"equal scalars", d(`"x"`), d(`"x"`), ""},
		{"empty key", d(`{"":1}`), d(`{"":2}`), `[{"op":"replace","path":"/","value":2}]`},
		{"nested empty keys", d(`{"":{"":1}}`), d(`{"":{"":1,"x":true}}`), `[{"op":"add","path":"//x","value":true}]`},
		{"slash key", d(`{"a/b":1}`), d(`{"a/b":2}`), `[{"op":"replace","path":"/a~1b","value":2}]`},
		{"tilde key", d(`{"~1":1}`), d(`{}`), `[{"op":"remove","path":"/~01"}]`},
		{"digit keys", d(`{"0":"a","10":"b"}`), d(`{"0":"a","10":"c","1":"d"}`),
			`[{"op":"add","path":"/1","value":"d"},{"op":"replace","path":"/10","value":"c"}]`},
		{"key escaping in JSON", d(`{"q\"<>":1}`), d(`{"q\"<>":2}`), `[{"op":"replace","path":"/q\"\u003c\u003e","value":2}]`},
		{"null value vs missing key", d(`{"a":null}`), d(`{}`), `[{"op":"remove","path":"/a"}]`},
		{"missing key vs null value", d(`{}`), d(`{"a":null}`), `[{"op":"add","path":"/a","value":null}]`},
		{"null to false", d(`{"a":null}`), d(`{"a":false}`), `[{"op":"replace","path":"/a","value":false}]`},
		{"null in arrays", d(`[null,1,null]`), d(`[null,null,1]`),
			`[{"op":"replace","path":"/1","value":null},{"op":"replace","path":"/2","value":1}]`},
		{"null vs \"0\" vs false in array", d(`[null,"0",false]`), d(`[false,null,"0"]`),
			`[{"op":"replace","path":"/0","value":false},{"op":"replace","path":"/1","value":null},{"op":"replace","path":"/2","value":"0"}]`},
		{"object to array", d(`{"a":{"b":1}}`), d(`{"a":[1]}`), `[{"op":"replace","path":"/a","value":[1]}]`},
		{"array to scalar", d(`{"a":[1]}`), d(`{"a":"1"}`), `[{"op":"replace","path":"/a","value":"1"}]`},
		{"scalar to object", d(`{"a":1}`), d(`{"a":{"1":1}}`), `[{"op":"replace","path":"/a","value":{"1":1}}]`},
		{"root object to array", d(`{"a":1}`), d(`[1]`), `[{"op":"replace","path":"","value":[1]}]`},
		{"root array to null", d(`[1]`), nil, `[{"op":"replace","path":"","value":null}]`},
		{"root scalar change", d(`1`), d(`2`), `[{"op":"replace","path":"","value":2}]`},
		{"nested arrays", d(`{"m":[[1,2],[3,[4,5]]]}`), d(`{"m":[[1],[3,[4,6,7]],[]]}`),
			`[{"op":"remove","path":"/m/0/1"},{"op":"replace","path":"/m/1/1/1","value":6},{"op":"add","path":"/m/1/1/-","value":7},{"op":"add","path":"/m/-","value":[]}]`},
		{"array tail removed high to low", d(`[1,2,3,4]`), d(`[1]`),
			`[{"op":"remove","path":"/3"},{"op":"remove","path":"/2"},{"op":"remove","path":"/1"}]`},
		{"array appends", d(`[]`), d(`[1,2]`), `[{"op":"add","path":"/-","value":1},{"op":"add","path":"/-","value":2}]`},
		{"float64 vs json.Number same text", d(`{"n":1}`), map[string]any{"n": json.Number("1")}, ""},
		{"json.Number vs float64 same text", map[string]any{"n": json.Number("2.5")}, d(`{"n":2.5}`), ""},
		{"json.Number other text", d(`{"n":1}`), map[string]any{"n": json.Number("1.0")},
			`[{"op":"replace","path":"/n","value":1.0}]`},
		{"json.Number change", map[string]any{"n": json.Number("1")}, map[string]any{"n": json.Number("2")},
			`[{"op":"replace","path":"/n","value":2}]`},
		{"big floats", d(`{"n":1e21}`), d(`{"n":1e-7}`), `[{"op":"replace","path":"/n","value":1e-7}]`},
		{"strings escaped like encoding/json", d(`{"s":"a"}`), d(`{"s":"<\u2028\n>"}`),
			`[{"op":"replace","path":"/s","value":"\u003c\u2028\n\u003e"}]`},
		{"keyed: remove head", d(`{"l":[{"id":1,"t":"a"},{"id":2,"t":"b"},{"id":3,"t":"c"}]}`),
			d(`{"l":[{"id":2,"t":"b"},{"id":3,"t":"c"}]}`), `[{"op":"remove","path":"/l/0"}]`},
		{"keyed: insert in the middle and edit", d(`{"l":[{"id":"a"},{"id":"b","v":1},{"id":"c"}]}`),
			d(`{"l":[{"id":"a"},{"id":"x"},{"id":"b","v":2},{"id":"c"}]}`),
			`[{"op":"add","path":"/l/1","value":{"id":"x"}},{"op":"replace","path":"/l/2/v","value":2}]`},
		{"keyed: insert one, remove another", d(`[{"id":1},{"id":2},{"id":3}]`), d(`[{"id":2},{"id":3},{"id":4}]`),
			`[{"op":"remove","path":"/0"},{"op":"add","path":"/2","value":{"id":4}}]`},
		{"keyed: edit before a removal", d(`[{"id":1,"v":1},{"id":2},{"id":3}]`), d(`[{"id":1,"v":2},{"id":3}]`),
			`[{"op":"replace","path":"/0/v","value":2},{"op":"remove","path":"/1"}]`},
		{"keyed: reorder falls back to index-wise", d(`[{"id":1},{"id":2}]`), d(`[{"id":2},{"id":1}]`),
			`[{"op":"replace","path":"/0/id","value":2},{"op":"replace","path":"/1/id","value":1}]`},
		{"keyed: duplicate ids fall back", d(`[{"id":1},{"id":1},{"id":2}]`), d(`[{"id":2},{"id":1}]`),
			`[{"op":"replace","path":"/0/id","value":2},{"op":"remove","path":"/2"}]`},
		{"keyed: element without id falls back", d(`[{"id":1},{"x":1},{"id":2}]`), d(`[{"x":1},{"id":2}]`),
			`[{"op":"remove","path":"/0/id"},{"op":"add","path":"/0/x","value":1},{"op":"add","path":"/1/id","value":2},{"op":"remove","path":"/1/x"},{"op":"remove","path":"/2"}]`},
	}
}

func TestTable(t *testing.T) {
	for _, dd := range differs {
		t.Run(dd.name, func(t *testing.T) {
			for _, tc := range tableCases(t) {
				prevCopy, nextCopy := deepCopy(tc.prev), deepCopy(tc.next)
				patch, err := dd.d.Diff(tc.prev, tc.next)
				if err != nil {
					t.Errorf("%s: %v", tc.name, err)
					continue
				}
				if !cmp.Equal(prevCopy, tc.prev) || !cmp.Equal(nextCopy, tc.next) {
					t.Errorf("%s: Diff modified its input", tc.name)
				}
				if err := checkPatch(tc.prev, tc.next, patch); err != nil {
					t.Errorf("%s: %v\npatch: %s", tc.name, err, patch)
				}
				if cmp.Equal(tc.prev, tc.next) && patch != nil {
					t.Errorf("%s: equal trees gave %q, want nil", tc.name, patch)
				}
				if dd.name == "tree" && string(patch) != tc.tree {
					t.Errorf("%s:\n got %s\nwant %s", tc.name, patch, tc.tree)
				}
				if dd.name == "tree" && tc.tree == "" && patch != nil {
					t.Errorf("%s: want nil patch", tc.name)
				}
			}
		})
	}
}

func TestUnsupportedValues(t *testing.T) {
	cases := []struct {
		name       string
		prev, next any
	}{
		{"int in both", map[string]any{"a": 1}, map[string]any{"a": 1}},
		{"int added", map[string]any{}, map[string]any{"a": 1}},
		{"NaN added", map[string]any{}, map[string]any{"a": math.NaN()}},
		{"bad json.Number", map[string]any{}, map[string]any{"a": json.Number("1x")}},
		{"typed slice", []any{}, []any{[]string{"x"}}},
	}
	for _, dd := range differs {
		for _, tc := range cases {
			if _, err := dd.d.Diff(tc.prev, tc.next); err == nil && dd.name == "tree" {
				t.Errorf("%s/%s: no error", dd.name, tc.name)
			}
		}
	}
}

func TestNilContainersAreNull(t *testing.T) {
	d := Tree()
	for _, tc := range []struct {
		prev, next any
		want       string
	}{
		{map[string]any{"a": []any(nil)}, map[string]any{"a": nil}, ""},
		{map[string]any{"a": map[string]any(nil)}, map[string]any{"a": nil}, ""},
		{map[string]any{"a": []any(nil)}, map[string]any{"a": []any{}}, `[{"op":"replace","path":"/a","value":[]}]`},
		{map[string]any{"a": []any{}}, map[string]any{"a": []any(nil)}, `[{"op":"replace","path":"/a","value":null}]`},
	} {
		got, err := d.Diff(tc.prev, tc.next)
		if err != nil || string(got) != tc.want {
			t.Errorf("Diff(%v, %v) = %s, %v; want %s", tc.prev, tc.next, got, err, tc.want)
		}
	}
}

func TestDefaultIsTree(t *testing.T) {
	if _, ok := Default().(treeDiffer); !ok {
		t.Fatalf("Default() = %T", Default())
	}
}

// TestEncoderMatchesEncodingJSON checks the hand-written encoder against
// json.Marshal on random trees and on awkward strings and numbers.
func TestEncoderMatchesEncodingJSON(t *testing.T) {
	var e encoder
	check := func(v any) {
		t.Helper()
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%#v): %v", v, err)
		}
		got := e.appendValue(nil, v)
		if string(got) != string(want) {
			t.Fatalf("encode %#v:\n got %s\nwant %s", v, got, want)
		}
	}
	var all []string
	for b := 0; b < 256; b++ {
		all = append(all, string([]byte{byte(b)}), "a"+string(rune(b))+"z")
	}
	all = append(all, "\u2028", "\u2029", "\xe2\x80", "日本\xff語", "😀", "\ufffd", "a\x00b", strings.Repeat("<&>", 5))
	for _, s := range all {
		check(s)
		check(map[string]any{s: s})
	}
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e20, 1e21, 1e-6, 1e-7, 9.999e-7, 123456789.125,
		math.MaxFloat64, math.SmallestNonzeroFloat64, -1.5e-300, 5e-324, 1 << 53, 3.0000000000000004} {
		check(f)
	}
	for _, n := range []json.Number{"", "0", "-0", "1.5e+3", "1E-2", "12345678901234567890123"} {
		check(n)
	}
	check([]any{})
	check(map[string]any{})
	check([]any(nil))
	check(map[string]any(nil))
	g := newGen(7)
	for i := 0; i < 2000; i++ {
		check(g.root())
	}
	for _, bad := range []json.Number{"01", "1.", ".5", "1e", "+1", "0x10", "1 "} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("json.Number(%q) accepted", bad)
				}
			}()
			e.appendValue(nil, bad)
		}()
	}
}

func TestConcurrentUse(t *testing.T) {
	prev := decode(t, `{"l":[{"id":1},{"id":2},{"id":3}],"x":{"y":[1,2,3]}}`)
	next := decode(t, `{"l":[{"id":2},{"id":3}],"x":{"y":[1,2]},"z":true}`)
	want, err := Tree().Diff(prev, next)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []byte)
	for i := 0; i < 8; i++ {
		go func() {
			var last []byte
			for j := 0; j < 200; j++ {
				last, _ = Tree().Diff(prev, next)
			}
			done <- last
		}()
	}
	for i := 0; i < 8; i++ {
		if got := <-done; string(got) != string(want) {
			t.Errorf("got %s want %s", got, want)
		}
	}
}

// TestTreeKeyOrder checks that operations come out in sorted key order at
// every level, whatever the map iteration order.
func TestTreeKeyOrder(t *testing.T) {
	prev, next := map[string]any{}, map[string]any{}
	var want strings.Builder
	for i := 0; i < 30; i++ {
		k := string(rune('a'+i%26)) + strings.Repeat("~", i/26)
		prev[k] = map[string]any{"x": float64(i), "y": []any{"a"}, "z": true}
		next[k] = map[string]any{"x": float64(i + 1), "y": []any{"a", "b"}, "w": nil}
	}
	keys := make([]string, 0, len(prev))
	for k := range prev {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p := "/" + strings.ReplaceAll(k, "~", "~0")
		fmt.Fprintf(&want, `,{"op":"add","path":"%s/w","value":null}`, p)
		fmt.Fprintf(&want, `,{"op":"replace","path":"%s/x","value":%v}`, p, next[k].(map[string]any)["x"])
		fmt.Fprintf(&want, `,{"op":"add","path":"%s/y/-","value":"b"}`, p)
		fmt.Fprintf(&want, `,{"op":"remove","path":"%s/z"}`, p)
	}
	wantS := "[" + want.String()[1:] + "]"
	for i := 0; i < 50; i++ {
		got, err := Tree().Diff(prev, next)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != wantS {
			t.Fatalf("got  %s\nwant %s", got, wantS)
		}
	}
}
