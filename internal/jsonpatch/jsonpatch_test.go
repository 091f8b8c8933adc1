package jsonpatch

import (
	"encoding/json"
	"testing"
)

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

func TestApply(t *testing.T) {
	tests := []struct {
		name, doc, patch, want string
		wantErr                bool
	}{
		{"add key", `{"a":1}`, `[{"op":"add","path":"/b","value":2}]`, `{"a":1,"b":2}`, false},
		{"add empty key", `{}`, `[{"op":"add","path":"/","value":1}]`, `{"":1}`, false},
		{"escaped keys", `{"a/b":1,"~1":2}`, `[{"op":"replace","path":"/a~1b","value":3},{"op":"remove","path":"/~01"}]`, `{"a/b":3}`, false},
		{"key 0 in object", `{"0":{"1":1}}`, `[{"op":"replace","path":"/0/1","value":null}]`, `{"0":{"1":null}}`, false},
		{"array insert", `[1,3]`, `[{"op":"add","path":"/1","value":2}]`, `[1,2,3]`, false},
		{"array append dash", `[1]`, `[{"op":"add","path":"/-","value":null}]`, `[1,null]`, false},
		{"array remove from end down", `[1,2,3,4]`, `[{"op":"remove","path":"/3"},{"op":"remove","path":"/2"}]`, `[1,2]`, false},
		{"null element replace", `[null,1]`, `[{"op":"replace","path":"/0","value":{"x":[]}}]`, `[{"x":[]},1]`, false},
		{"root replace", `{"a":1}`, `[{"op":"replace","path":"","value":[1]}]`, `[1]`, false},
		{"move", `{"a":{"b":1},"c":{}}`, `[{"op":"move","from":"/a/b","path":"/c/d"}]`, `{"a":{},"c":{"d":1}}`, false},
		{"copy", `{"a":[1]}`, `[{"op":"copy","from":"/a","path":"/b"}]`, `{"a":[1],"b":[1]}`, false},
		{"test ok", `{"a":[1,{"b":null}]}`, `[{"op":"test","path":"/a","value":[1,{"b":null}]}]`, `{"a":[1,{"b":null}]}`, false},
		{"test fails", `{"a":1}`, `[{"op":"test","path":"/a","value":2}]`, ``, true},
		{"replace missing key", `{"a":1}`, `[{"op":"replace","path":"/b","value":2}]`, ``, true},
		{"remove missing index", `[1]`, `[{"op":"remove","path":"/1"}]`, ``, true},
		{"leading zero index", `[1,2]`, `[{"op":"remove","path":"/01"}]`, ``, true},
		{"add past end", `[1]`, `[{"op":"add","path":"/2","value":0}]`, ``, true},
		{"add without parent", `{}`, `[{"op":"add","path":"/a/b","value":0}]`, ``, true},
		{"add without value", `{}`, `[{"op":"add","path":"/a"}]`, ``, true},
		{"move into itself", `{"a":{"b":{}}}`, `[{"op":"move","from":"/a","path":"/a/b/c"}]`, ``, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := decode(t, tt.doc)
			before, _ := json.Marshal(doc)
			got, err := ApplyJSON(doc, []byte(tt.patch))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !Equal(got, decode(t, tt.want)) {
				g, _ := json.Marshal(got)
				t.Fatalf("got %s, want %s", g, tt.want)
			}
			after, _ := json.Marshal(doc)
			if string(before) != string(after) {
				t.Fatalf("input modified: %s → %s", before, after)
			}
		})
	}
}

func TestEqualNumbers(t *testing.T) {
	if !Equal(json.Number("1.0"), float64(1)) {
		t.Fatal("1.0 and 1 should be equal")
	}
	if Equal(nil, false) || Equal("0", float64(0)) {
		t.Fatal("null/false/\"0\" must differ")
	}
}
