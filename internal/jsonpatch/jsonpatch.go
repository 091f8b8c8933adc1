// Package jsonpatch applies RFC 6902 JSON patches to decoded JSON trees
// (the values encoding/json produces when unmarshalling into any). It is
// strict like json-joy, the applier phx-live-state uses: replacing or
// removing a missing location is an error.
package jsonpatch

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Op is one RFC 6902 operation.
type Op struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	From  string `json:"from,omitempty"`
	Value any    `json:"value,omitempty"`
}

// UnmarshalJSON keeps an explicit null value (Value nil with hasValue).
func (o *Op) UnmarshalJSON(b []byte) error {
	var raw struct {
		Op    string          `json:"op"`
		Path  *string         `json:"path"`
		From  string          `json:"from"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw.Path == nil {
		return errors.New("jsonpatch: operation without path")
	}
	o.Op, o.Path, o.From, o.Value = raw.Op, *raw.Path, raw.From, nil
	if len(raw.Value) > 0 {
		if err := json.Unmarshal(raw.Value, &o.Value); err != nil {
			return err
		}
	} else if o.Op == "add" || o.Op == "replace" || o.Op == "test" {
		return fmt.Errorf("jsonpatch: %s without value", o.Op)
	}
	return nil
}

// Decode parses the JSON text of a patch.
func Decode(patch []byte) ([]Op, error) {
	var ops []Op
	if err := json.Unmarshal(patch, &ops); err != nil {
		return nil, fmt.Errorf("jsonpatch: %w", err)
	}
	return ops, nil
}

// Apply returns doc with the operations applied in order. doc itself is not
// modified (the parts the patch touches are copied).
func Apply(doc any, ops []Op) (any, error) {
	doc = deepCopy(doc)
	for i, op := range ops {
		var err error
		doc, err = applyOne(doc, op)
		if err != nil {
			return nil, fmt.Errorf("jsonpatch: operation %d (%s %s): %w", i, op.Op, op.Path, err)
		}
	}
	return doc, nil
}

// ApplyJSON decodes patch and applies it.
func ApplyJSON(doc any, patch []byte) (any, error) {
	ops, err := Decode(patch)
	if err != nil {
		return nil, err
	}
	return Apply(doc, ops)
}

// ParsePointer splits an RFC 6901 pointer into unescaped tokens.
func ParsePointer(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if p[0] != '/' {
		return nil, fmt.Errorf("pointer %q does not start with /", p)
	}
	parts := strings.Split(p[1:], "/")
	for i, s := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return parts, nil
}

func applyOne(doc any, op Op) (any, error) {
	path, err := ParsePointer(op.Path)
	if err != nil {
		return nil, err
	}
	switch op.Op {
	case "add":
		return add(doc, path, deepCopy(op.Value))
	case "remove":
		out, _, err := remove(doc, path)
		return out, err
	case "replace":
		if _, err := get(doc, path); err != nil {
			return nil, err
		}
		if len(path) == 0 {
			return deepCopy(op.Value), nil
		}
		out, _, err := remove(doc, path)
		if err != nil {
			return nil, err
		}
		return add(out, path, deepCopy(op.Value))
	case "move", "copy":
		from, err := ParsePointer(op.From)
		if err != nil {
			return nil, err
		}
		v, err := get(doc, from)
		if err != nil {
			return nil, err
		}
		if op.Op == "move" {
			if len(path) > len(from) && reflect.DeepEqual(path[:len(from)], from) {
				return nil, errors.New("cannot move a value into itself")
			}
			if doc, _, err = remove(doc, from); err != nil {
				return nil, err
			}
		} else {
			v = deepCopy(v)
		}
		return add(doc, path, v)
	case "test":
		v, err := get(doc, path)
		if err != nil {
			return nil, err
		}
		if !Equal(v, op.Value) {
			return nil, errors.New("test failed")
		}
		return doc, nil
	}
	return nil, fmt.Errorf("unknown op %q", op.Op)
}

func get(doc any, path []string) (any, error) {
	cur := doc
	for _, tok := range path {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("no key %q", tok)
			}
			cur = v
		case []any:
			i, err := index(tok, len(c), false)
			if err != nil {
				return nil, err
			}
			cur = c[i]
		default:
			return nil, fmt.Errorf("cannot descend into %T at %q", cur, tok)
		}
	}
	return cur, nil
}

// index parses an array index; appendOK allows "-" and len.
func index(tok string, n int, appendOK bool) (int, error) {
	if tok == "-" {
		if appendOK {
			return n, nil
		}
		return 0, errors.New(`index "-" only valid for add`)
	}
	if tok == "" || (len(tok) > 1 && tok[0] == '0') {
		return 0, fmt.Errorf("bad array index %q", tok)
	}
	i, err := strconv.Atoi(tok)
	if err != nil || i < 0 {
		return 0, fmt.Errorf("bad array index %q", tok)
	}
	if i > n || (i == n && !appendOK) {
		return 0, fmt.Errorf("array index %d out of range (len %d)", i, n)
	}
	return i, nil
}

// add sets path to v, returning the new document (slices may be reallocated).
func add(doc any, path []string, v any) (any, error) {
	if len(path) == 0 {
		return v, nil
	}
	tok := path[0]
	switch c := doc.(type) {
	case map[string]any:
		if len(path) == 1 {
			c[tok] = v
			return c, nil
		}
		child, ok := c[tok]
		if !ok {
			return nil, fmt.Errorf("no key %q", tok)
		}
		nc, err := add(child, path[1:], v)
		if err != nil {
			return nil, err
		}
		c[tok] = nc
		return c, nil
	case []any:
		if len(path) == 1 {
			i, err := index(tok, len(c), true)
			if err != nil {
				return nil, err
			}
			c = append(c, nil)
			copy(c[i+1:], c[i:])
			c[i] = v
			return c, nil
		}
		i, err := index(tok, len(c), false)
		if err != nil {
			return nil, err
		}
		nc, err := add(c[i], path[1:], v)
		if err != nil {
			return nil, err
		}
		c[i] = nc
		return c, nil
	}
	return nil, fmt.Errorf("cannot add into %T at %q", doc, tok)
}

func remove(doc any, path []string) (any, any, error) {
	if len(path) == 0 {
		return nil, nil, errors.New("cannot remove the whole document")
	}
	tok := path[0]
	switch c := doc.(type) {
	case map[string]any:
		child, ok := c[tok]
		if !ok {
			return nil, nil, fmt.Errorf("no key %q", tok)
		}
		if len(path) == 1 {
			delete(c, tok)
			return c, child, nil
		}
		nc, old, err := remove(child, path[1:])
		if err != nil {
			return nil, nil, err
		}
		c[tok] = nc
		return c, old, nil
	case []any:
		i, err := index(tok, len(c), false)
		if err != nil {
			return nil, nil, err
		}
		if len(path) == 1 {
			old := c[i]
			return append(c[:i:i], c[i+1:]...), old, nil
		}
		nc, old, err := remove(c[i], path[1:])
		if err != nil {
			return nil, nil, err
		}
		c[i] = nc
		return c, old, nil
	}
	return nil, nil, fmt.Errorf("cannot remove from %T at %q", doc, tok)
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}

// Equal compares two decoded JSON trees; numbers compare by value whether
// float64 or json.Number.
func Equal(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !Equal(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case float64, json.Number:
		fa, oka := num(a)
		fb, okb := num(b)
		return oka && okb && fa == fb
	}
	return a == b
}

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}
