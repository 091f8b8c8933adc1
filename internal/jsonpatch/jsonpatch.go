package jsonpatch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
)

// Operation is one patch operation.
type Operation struct {
	Op    string // add, remove, replace, move, copy or test
	Path  string // RFC 6901 pointer
	From  string // move and copy only
	Value any    // add, replace and test only
}

// ErrInvalid reports a malformed patch document; failures while applying
// wrap ErrFailed.
var (
	ErrInvalid = errors.New("jsonpatch: invalid patch")
	ErrFailed  = errors.New("jsonpatch: patch does not apply")
)

// Decode parses exactly one JSON value, keeping numbers as json.Number.
func Decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("jsonpatch: trailing data after JSON value")
	}
	return v, nil
}

// Parse decodes and validates a patch document (a JSON array of operation
// objects). Members other than op, path, from and value are ignored.
func Parse(data []byte) ([]Operation, error) {
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	ops := make([]Operation, 0, len(raw))
	for i, m := range raw {
		op, err := parseOp(m)
		if err != nil {
			return nil, fmt.Errorf("%w: operation %d: %v", ErrInvalid, i, err)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func parseOp(m map[string]json.RawMessage) (Operation, error) {
	if m == nil {
		return Operation{}, errors.New("not an object")
	}
	var op Operation
	if err := stringMember(m, "op", &op.Op); err != nil {
		return op, err
	}
	if err := stringMember(m, "path", &op.Path); err != nil {
		return op, err
	}
	if _, err := parsePointer(op.Path); err != nil {
		return op, err
	}
	switch op.Op {
	case "add", "replace", "test":
		raw, ok := m["value"]
		if !ok {
			return op, fmt.Errorf("%s without value", op.Op)
		}
		v, err := Decode(raw)
		if err != nil {
			return op, err
		}
		op.Value = v
	case "move", "copy":
		if err := stringMember(m, "from", &op.From); err != nil {
			return op, err
		}
		if _, err := parsePointer(op.From); err != nil {
			return op, err
		}
	case "remove":
	default:
		return op, fmt.Errorf("unknown op %q", op.Op)
	}
	return op, nil
}

func stringMember(m map[string]json.RawMessage, name string, dst *string) error {
	raw, ok := m[name]
	if !ok {
		return fmt.Errorf("missing %q", name)
	}
	if err := json.Unmarshal(raw, dst); err != nil || bytes.TrimSpace(raw)[0] != '"' {
		return fmt.Errorf("%q is not a string", name)
	}
	return nil
}

// parsePointer splits an RFC 6901 pointer into unescaped reference tokens.
// "" is the whole document (no tokens); "/" is the single empty key.
func parsePointer(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if p[0] != '/' {
		return nil, fmt.Errorf("pointer %q does not start with /", p)
	}
	toks := strings.Split(p[1:], "/")
	for i, t := range toks {
		if !strings.Contains(t, "~") {
			continue
		}
		var b strings.Builder
		for j := 0; j < len(t); j++ {
			if t[j] != '~' {
				b.WriteByte(t[j])
				continue
			}
			if j+1 >= len(t) || (t[j+1] != '0' && t[j+1] != '1') {
				return nil, fmt.Errorf("pointer %q has a bad ~ escape", p)
			}
			if t[j+1] == '0' {
				b.WriteByte('~')
			} else {
				b.WriteByte('/')
			}
			j++
		}
		toks[i] = b.String()
	}
	return toks, nil
}

// Apply applies patch to a deep copy of doc and returns the result. On
// error doc is unchanged and nothing is returned.
func Apply(doc any, patch []Operation) (any, error) {
	doc = Clone(doc)
	for i, op := range patch {
		var err error
		if doc, err = applyOp(doc, op); err != nil {
			return nil, fmt.Errorf("%w: operation %d (%s %q): %v", ErrFailed, i, op.Op, op.Path, err)
		}
	}
	return doc, nil
}

func applyOp(doc any, op Operation) (any, error) {
	path, err := parsePointer(op.Path)
	if err != nil {
		return nil, err
	}
	switch op.Op {
	case "add":
		return add(doc, path, Clone(op.Value))
	case "remove":
		if len(path) == 0 {
			return nil, errors.New("cannot remove the whole document")
		}
		doc, _, err = remove(doc, path)
		return doc, err
	case "replace":
		if len(path) == 0 {
			return Clone(op.Value), nil
		}
		v := Clone(op.Value)
		return mutate(doc, path, func(parent any, key string) (any, error) {
			switch p := parent.(type) {
			case map[string]any:
				if _, ok := p[key]; !ok {
					return nil, fmt.Errorf("member %q not found", key)
				}
				p[key] = v
				return p, nil
			case []any:
				i, err := index(key, len(p))
				if err != nil {
					return nil, err
				}
				p[i] = v
				return p, nil
			}
			return nil, notContainer(parent)
		})
	case "move":
		from, err := parsePointer(op.From)
		if err != nil {
			return nil, err
		}
		if isPrefix(from, path) {
			if len(from) == len(path) {
				_, err := get(doc, from) // moving onto itself: a no-op if it exists
				return doc, err
			}
			return nil, errors.New("cannot move a value into one of its children")
		}
		doc, v, err := remove(doc, from)
		if err != nil {
			return nil, err
		}
		return add(doc, path, v)
	case "copy":
		from, err := parsePointer(op.From)
		if err != nil {
			return nil, err
		}
		v, err := get(doc, from)
		if err != nil {
			return nil, err
		}
		return add(doc, path, Clone(v))
	case "test":
		v, err := get(doc, path)
		if err != nil {
			return nil, err
		}
		if !Equal(v, op.Value) {
			return nil, errors.New("test failed: values differ")
		}
		return doc, nil
	}
	return nil, fmt.Errorf("unknown op %q", op.Op)
}

func isPrefix(prefix, toks []string) bool {
	if len(prefix) > len(toks) {
		return false
	}
	for i := range prefix {
		if prefix[i] != toks[i] {
			return false
		}
	}
	return true
}

func add(doc any, path []string, v any) (any, error) {
	if len(path) == 0 {
		return v, nil
	}
	return mutate(doc, path, func(parent any, key string) (any, error) {
		switch p := parent.(type) {
		case map[string]any:
			p[key] = v
			return p, nil
		case []any:
			if key == "-" {
				return append(p, v), nil
			}
			i, err := index(key, len(p)+1)
			if err != nil {
				return nil, err
			}
			p = append(p, nil)
			copy(p[i+1:], p[i:])
			p[i] = v
			return p, nil
		}
		return nil, notContainer(parent)
	})
}

func remove(doc any, path []string) (any, any, error) {
	var removed any
	doc, err := mutate(doc, path, func(parent any, key string) (any, error) {
		switch p := parent.(type) {
		case map[string]any:
			v, ok := p[key]
			if !ok {
				return nil, fmt.Errorf("member %q not found", key)
			}
			removed = v
			delete(p, key)
			return p, nil
		case []any:
			i, err := index(key, len(p))
			if err != nil {
				return nil, err
			}
			removed = p[i]
			return append(p[:i], p[i+1:]...), nil
		}
		return nil, notContainer(parent)
	})
	return doc, removed, err
}

// mutate walks to the container holding the last token and replaces it
// with what fn returns (slices may grow or shrink), rebuilding the links
// on the way back.
func mutate(node any, path []string, fn func(parent any, key string) (any, error)) (any, error) {
	if len(path) == 1 {
		return fn(node, path[0])
	}
	switch n := node.(type) {
	case map[string]any:
		child, ok := n[path[0]]
		if !ok {
			return nil, fmt.Errorf("member %q not found", path[0])
		}
		c, err := mutate(child, path[1:], fn)
		if err != nil {
			return nil, err
		}
		n[path[0]] = c
		return n, nil
	case []any:
		i, err := index(path[0], len(n))
		if err != nil {
			return nil, err
		}
		c, err := mutate(n[i], path[1:], fn)
		if err != nil {
			return nil, err
		}
		n[i] = c
		return n, nil
	}
	return nil, notContainer(node)
}

func get(node any, path []string) (any, error) {
	for _, tok := range path {
		switch n := node.(type) {
		case map[string]any:
			v, ok := n[tok]
			if !ok {
				return nil, fmt.Errorf("member %q not found", tok)
			}
			node = v
		case []any:
			i, err := index(tok, len(n))
			if err != nil {
				return nil, err
			}
			node = n[i]
		default:
			return nil, notContainer(node)
		}
	}
	return node, nil
}

// index parses an array index token: "0" or digits without a leading zero,
// below limit. "-" (past the end) is handled by add only.
func index(tok string, limit int) (int, error) {
	if tok == "" || len(tok) > 1 && tok[0] == '0' || len(tok) > 9 {
		return 0, fmt.Errorf("bad array index %q", tok)
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return 0, fmt.Errorf("bad array index %q", tok)
		}
	}
	i, _ := strconv.Atoi(tok)
	if i >= limit {
		return 0, fmt.Errorf("array index %d out of range", i)
	}
	return i, nil
}

func notContainer(v any) error {
	switch v.(type) {
	case nil:
		return errors.New("path goes through null")
	case string:
		return errors.New("path goes through a string")
	case bool:
		return errors.New("path goes through a boolean")
	}
	return errors.New("path goes through a number")
}

// Clone deep-copies a JSON tree.
func Clone(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = Clone(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = Clone(e)
		}
		return s
	}
	return v
}

// Equal reports JSON equality: objects ignore member order, arrays compare
// element by element, numbers compare by value (1, 1.0 and 1e0 are equal).
func Equal(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, e := range x {
			f, ok := y[k]
			if !ok || !Equal(e, f) {
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
	}
	if x, ok := a.(json.Number); ok {
		if y, ok := b.(json.Number); ok && (x == y || hugeExponent(x) || hugeExponent(y)) {
			return x == y // same text, or too large to compare by value cheaply
		}
	}
	ra, ok1 := number(a)
	rb, ok2 := number(b)
	return ok1 && ok2 && ra.Cmp(rb) == 0
}

// hugeExponent reports numbers like 1e999999 whose exact value would be
// costly to build.
func hugeExponent(n json.Number) bool {
	i := strings.IndexAny(string(n), "eE")
	if i < 0 {
		return false
	}
	e, err := strconv.Atoi(strings.TrimPrefix(string(n[i+1:]), "+"))
	return err != nil || e > 1000 || e < -1000
}

func number(v any) (*big.Rat, bool) {
	switch n := v.(type) {
	case json.Number:
		if hugeExponent(n) {
			return nil, false
		}
		return new(big.Rat).SetString(string(n))
	case float64:
		r := new(big.Rat)
		if r.SetFloat64(n) == nil {
			return nil, false
		}
		return r, true
	case int:
		return new(big.Rat).SetInt64(int64(n)), true
	case int64:
		return new(big.Rat).SetInt64(n), true
	}
	return nil, false
}
