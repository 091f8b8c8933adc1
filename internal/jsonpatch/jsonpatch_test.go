package jsonpatch

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustDecode(t *testing.T, s string) any {
	t.Helper()
	v, err := Decode([]byte(s))
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

func TestApply(t *testing.T) {
	tests := []struct {
		name, doc, patch, want string
	}{
		// RFC 6902 appendix A, in spirit.
		{"add member", `{"foo":"bar"}`, `[{"op":"add","path":"/baz","value":"qux"}]`, `{"foo":"bar","baz":"qux"}`},
		{"add array element", `{"foo":["bar","baz"]}`, `[{"op":"add","path":"/foo/1","value":"qux"}]`, `{"foo":["bar","qux","baz"]}`},
		{"remove member", `{"baz":"qux","foo":"bar"}`, `[{"op":"remove","path":"/baz"}]`, `{"foo":"bar"}`},
		{"remove array element", `{"foo":["bar","qux","baz"]}`, `[{"op":"remove","path":"/foo/1"}]`, `{"foo":["bar","baz"]}`},
		{"replace", `{"baz":"qux","foo":"bar"}`, `[{"op":"replace","path":"/baz","value":"boo"}]`, `{"baz":"boo","foo":"bar"}`},
		{"move member", `{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}`, `[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]`,
			`{"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}`},
		{"move array element", `{"foo":["all","grass","cows","eat"]}`, `[{"op":"move","from":"/foo/1","path":"/foo/3"}]`, `{"foo":["all","cows","eat","grass"]}`},
		{"test ok then add", `{"baz":"qux","foo":["a",2,"c"]}`, `[{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}]`, `{"baz":"qux","foo":["a",2,"c"]}`},
		{"add nested object", `{"foo":"bar"}`, `[{"op":"add","path":"/child","value":{"grandchild":{}}}]`, `{"foo":"bar","child":{"grandchild":{}}}`},
		{"unknown members ignored", `{"foo":"bar"}`, `[{"op":"add","path":"/baz","value":"qux","xyz":123}]`, `{"foo":"bar","baz":"qux"}`},
		{"add replaces existing member", `{"foo":null}`, `[{"op":"add","path":"/foo","value":1}]`, `{"foo":1}`},
		{"add null value", `{"foo":"bar"}`, `[{"op":"add","path":"/baz","value":null}]`, `{"foo":"bar","baz":null}`},
		{"append with -", `{"foo":["bar"]}`, `[{"op":"add","path":"/foo/-","value":["abc","def"]}]`, `{"foo":["bar",["abc","def"]]}`},
		{"add at array end index", `[1,2]`, `[{"op":"add","path":"/2","value":3}]`, `[1,2,3]`},
		{"copy", `{"a":{"b":[1]}}`, `[{"op":"copy","from":"/a","path":"/c"},{"op":"add","path":"/c/b/-","value":2}]`, `{"a":{"b":[1]},"c":{"b":[1,2]}}`},
		{"move onto itself", `{"a":1}`, `[{"op":"move","from":"/a","path":"/a"}]`, `{"a":1}`},
		{"replace root", `{"a":1}`, `[{"op":"replace","path":"","value":[1]}]`, `[1]`},
		{"add root", `{"a":1}`, `[{"op":"add","path":"","value":{"b":2}}]`, `{"b":2}`},
		{"test root", `{"a":[1,{"b":null}]}`, `[{"op":"test","path":"","value":{"a":[1.0,{"b":null}]}}]`, `{"a":[1,{"b":null}]}`},
		// Keys that need care.
		{"empty key", `{"":{"b":0}}`, `[{"op":"replace","path":"//b","value":1}]`, `{"":{"b":1}}`},
		{"empty key at root level", `{}`, `[{"op":"add","path":"/","value":"e"}]`, `{"":"e"}`},
		{"slash in key", `{"a/b":1}`, `[{"op":"replace","path":"/a~1b","value":2}]`, `{"a/b":2}`},
		{"tilde-one key", `{"~1":1}`, `[{"op":"remove","path":"/~01"}]`, `{}`},
		{"tilde key", `{"m~n":1}`, `[{"op":"copy","from":"/m~0n","path":"/x"}]`, `{"m~n":1,"x":1}`},
		{"key 0 in object", `{"0":"zero"}`, `[{"op":"replace","path":"/0","value":"nil"}]`, `{"0":"nil"}`},
		{"key - in object", `{}`, `[{"op":"add","path":"/-","value":1}]`, `{"-":1}`},
		{"null elements", `[null,1,null]`, `[{"op":"remove","path":"/0"},{"op":"add","path":"/1","value":null},{"op":"test","path":"/2","value":null}]`, `[1,null,null]`},
		{"replace null element", `{"a":[null]}`, `[{"op":"replace","path":"/a/0","value":{"x":null}}]`, `{"a":[{"x":null}]}`},
		{"array becomes object", `{"a":[1,2]}`, `[{"op":"replace","path":"/a","value":{"0":1}}]`, `{"a":{"0":1}}`},
		{"numbers compare by value", `{"n":100}`, `[{"op":"test","path":"/n","value":1e2}]`, `{"n":100}`},
		{"big numbers kept exactly", `{"n":1}`, `[{"op":"replace","path":"/n","value":123456789012345678901234567890}]`, `{"n":123456789012345678901234567890}`},
		{"empty patch", `{"a":1}`, `[]`, `{"a":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops, err := Parse([]byte(tt.patch))
			if err != nil {
				t.Fatal(err)
			}
			doc := mustDecode(t, tt.doc)
			got, err := Apply(doc, ops)
			if err != nil {
				t.Fatal(err)
			}
			if want := mustDecode(t, tt.want); !Equal(want, got) {
				t.Errorf("got %s, want %s", encode(t, got), tt.want)
			}
			if !Equal(doc, mustDecode(t, tt.doc)) {
				t.Errorf("input was modified: %s", encode(t, doc))
			}
		})
	}
}

func encode(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestApplyFails(t *testing.T) {
	tests := []struct {
		name, doc, patch string
	}{
		{"remove missing", `{"a":1}`, `[{"op":"remove","path":"/b"}]`},
		{"replace missing", `{"a":1}`, `[{"op":"replace","path":"/b","value":1}]`},
		{"add under missing parent", `{"a":1}`, `[{"op":"add","path":"/b/c","value":1}]`},
		{"index past end", `[1,2]`, `[{"op":"add","path":"/3","value":1}]`},
		{"replace at end index", `[1,2]`, `[{"op":"replace","path":"/2","value":1}]`},
		{"remove with -", `[1,2]`, `[{"op":"remove","path":"/-"}]`},
		{"leading zero", `[1,2]`, `[{"op":"replace","path":"/01","value":1}]`},
		{"negative index", `[1,2]`, `[{"op":"remove","path":"/-1"}]`},
		{"plus index", `[1,2]`, `[{"op":"remove","path":"/+1"}]`},
		{"huge index", `[1,2]`, `[{"op":"remove","path":"/99999999999999999999"}]`},
		{"through a string", `{"a":"s"}`, `[{"op":"add","path":"/a/b","value":1}]`},
		{"through null", `{"a":null}`, `[{"op":"add","path":"/a/b","value":1}]`},
		{"test fails", `{"a":"1"}`, `[{"op":"test","path":"/a","value":1}]`},
		{"test null vs false", `[null]`, `[{"op":"test","path":"/0","value":false}]`},
		{"test object size", `{"a":{"x":1}}`, `[{"op":"test","path":"/a","value":{"x":1,"y":null}}]`},
		{"test missing", `{}`, `[{"op":"test","path":"/a","value":null}]`},
		{"move into child", `{"a":{"b":{}}}`, `[{"op":"move","from":"/a","path":"/a/b/c"}]`},
		{"move missing", `{"a":1}`, `[{"op":"move","from":"/x","path":"/y"}]`},
		{"copy missing", `{"a":1}`, `[{"op":"copy","from":"/x","path":"/y"}]`},
		{"remove root", `{"a":1}`, `[{"op":"remove","path":""}]`},
		{"atomic: second op fails", `{"a":1}`, `[{"op":"add","path":"/b","value":2},{"op":"remove","path":"/zzz"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops, err := Parse([]byte(tt.patch))
			if err != nil {
				t.Fatal(err)
			}
			doc := mustDecode(t, tt.doc)
			got, err := Apply(doc, ops)
			if !errors.Is(err, ErrFailed) || got != nil {
				t.Fatalf("Apply = %v, %v; want ErrFailed", got, err)
			}
			if !Equal(doc, mustDecode(t, tt.doc)) {
				t.Errorf("input was modified: %s", encode(t, doc))
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	for _, p := range []string{
		`{}`, `[1]`, `[null]`, `[{"path":"/a"}]`, `[{"op":"add","path":"/a"}]`, `[{"op":"nope","path":"/a"}]`,
		`[{"op":"remove"}]`, `[{"op":"remove","path":5}]`, `[{"op":"remove","path":"a"}]`, `[{"op":"remove","path":"/a~2"}]`,
		`[{"op":"remove","path":"/a~"}]`, `[{"op":"move","path":"/a"}]`, `[{"op":"copy","path":"/a","from":null}]`,
		`[{"op":"add","path":"/a","value":1} `,
	} {
		if _, err := Parse([]byte(p)); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%s) = %v, want ErrInvalid", p, err)
		}
	}
}

func TestParsePointer(t *testing.T) {
	tests := map[string][]string{
		"":        nil,
		"/":       {""},
		"//":      {"", ""},
		"/a~1b":   {"a/b"},
		"/~01":    {"~1"},
		"/~10":    {"/0"},
		"/0/-":    {"0", "-"},
		"/ /%25/": {" ", "%25", ""},
	}
	for p, want := range tests {
		got, err := parsePointer(p)
		if err != nil {
			t.Errorf("parsePointer(%q): %v", p, err)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("parsePointer(%q) (-want +got):\n%s", p, diff)
		}
	}
}

func TestEqualAndClone(t *testing.T) {
	a := mustDecode(t, `{"x":[1,{"y":null}],"z":"s","b":true}`)
	c := Clone(a)
	if !Equal(a, c) {
		t.Fatal("clone differs")
	}
	c.(map[string]any)["x"].([]any)[1].(map[string]any)["y"] = 1
	if Equal(a, c) {
		t.Fatal("clone shares structure")
	}
	if !Equal(json.Number("1e999999"), json.Number("1e999999")) || Equal(json.Number("1e999999"), json.Number("2")) {
		t.Error("huge exponents")
	}
	if !Equal(json.Number("0.5"), 0.5) || Equal(nil, false) || Equal("1", json.Number("1")) {
		t.Error("scalar equality")
	}
	if _, err := Decode([]byte(`{} {}`)); err == nil {
		t.Error("Decode accepted trailing data")
	}
}
