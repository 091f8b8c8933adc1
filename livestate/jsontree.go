package livestate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/seance-go/seance/internal/jsonenc"
	"slices"
)

// The tree of a [Doc] holds nil, bool, string, json.Number (numbers keep
// their text), map[string]any (objects) and *jarray (arrays, edited in
// place). These helpers build, copy, encode and measure such trees; the
// encoding is encoding/json's (sorted keys, HTML-safe string escaping).

type jarray struct{ items []any }

// toTree turns a JSON text into a tree.
func toTree(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return adopt(v), nil
}

// adopt converts a decoded value ([]any arrays) into a tree in place.
func adopt(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = adopt(x)
		}
		return v
	case []any:
		for i, x := range v {
			v[i] = adopt(x)
		}
		return &jarray{items: v}
	}
	return v
}

// export returns a copy of a tree made of plain decoded values ([]any).
func export(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = export(x)
		}
		return m
	case *jarray:
		s := make([]any, len(v.items))
		for i, x := range v.items {
			s[i] = export(x)
		}
		return s
	}
	return v
}

// appendTree appends the JSON encoding of a tree.
func appendTree(dst []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...)
	case bool:
		if v {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case string:
		return appendJSONString(dst, v)
	case json.Number:
		return append(dst, v...)
	case *jarray:
		dst = append(dst, '[')
		for i, x := range v.items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendTree(dst, x)
		}
		return append(dst, ']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			dst = appendTree(dst, v[k])
		}
		return append(dst, '}')
	}
	panic(fmt.Sprintf("livestate: %T in a document tree", v))
}

// treeLen is len(appendTree(nil, v)) without encoding.
func treeLen(v any) int {
	switch v := v.(type) {
	case nil:
		return 4
	case bool:
		if v {
			return 4
		}
		return 5
	case string:
		return stringLen(v)
	case json.Number:
		return len(v)
	case *jarray:
		n := 2
		if len(v.items) > 1 {
			n += len(v.items) - 1
		}
		for _, x := range v.items {
			n += treeLen(x)
		}
		return n
	case map[string]any:
		n := 2
		if len(v) > 1 {
			n += len(v) - 1
		}
		for k, x := range v {
			n += stringLen(k) + 1 + treeLen(x)
		}
		return n
	}
	panic(fmt.Sprintf("livestate: %T in a document tree", v))
}

// appendJSONString writes s as encoding/json does (HTML-safe).
func appendJSONString(dst []byte, s string) []byte { return jsonenc.AppendString(dst, s, true) }

// stringLen is len(appendJSONString(nil, s)).
func stringLen(s string) int { return jsonenc.StringLen(s) }
