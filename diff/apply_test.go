package diff

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// This file holds a small, strict RFC 6902 applier over decoded JSON trees,
// used as the oracle for the differs' patches.

type testOp struct {
	Op    string          `json:"op"`
	Path  *string         `json:"path"`
	From  *string         `json:"from"`
	Value json.RawMessage `json:"value"`
}

// applyPatch applies patch (JSON text) to a deep copy of doc. An empty
// patch (len 0) is no change. It never modifies doc.
func applyPatch(doc any, patch []byte) (any, error) {
	if len(patch) == 0 {
		return deepCopy(doc), nil
	}
	if t := bytes.TrimSpace(patch); len(t) == 0 || t[0] != '[' {
		return nil, fmt.Errorf("patch is not a JSON array: %.40q", patch)
	}
	var ops []testOp
	if err := json.Unmarshal(patch, &ops); err != nil {
		return nil, err
	}
	doc = deepCopy(doc)
	for i, op := range ops {
		var err error
		doc, err = applyOp(doc, op)
		if err != nil {
			return nil, fmt.Errorf("op %d (%s): %w", i, op.Op, err)
		}
	}
	return doc, nil
}

func opValue(op testOp) (any, error) {
	if op.Value == nil {
		return nil, errors.New("missing value")
	}
	d := json.NewDecoder(bytes.NewReader(op.Value))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

func applyOp(doc any, op testOp) (any, error) {
	if op.Path == nil {
		return nil, errors.New("missing path")
	}
	path, err := parsePointer(*op.Path)
	if err != nil {
		return nil, err
	}
	switch op.Op {
	case "add":
		v, err := opValue(op)
		if err != nil {
			return nil, err
		}
		return addAt(doc, path, v)
	case "remove":
		if len(path) == 0 {
			return nil, errors.New("cannot remove the root")
		}
		return removeAt(doc, path)
	case "replace":
		v, err := opValue(op)
		if err != nil {
			return nil, err
		}
		if len(path) == 0 {
			return v, nil
		}
		return updateAt(doc, path[:len(path)-1], func(parent any) (any, error) {
			last := path[len(path)-1]
			switch p := parent.(type) {
			case map[string]any:
				if _, ok := p[last]; !ok {
					return nil, fmt.Errorf("replace of missing key %q", last)
				}
				p[last] = v
				return p, nil
			case []any:
				i, err := arrayIndex(last, len(p)-1)
				if err != nil {
					return nil, err
				}
				p[i] = v
				return p, nil
			}
			return nil, fmt.Errorf("replace inside a %T", parent)
		})
	case "move", "copy":
		if op.From == nil {
			return nil, errors.New("missing from")
		}
		from, err := parsePointer(*op.From)
		if err != nil {
			return nil, err
		}
		v, err := getAt(doc, from)
		if err != nil {
			return nil, err
		}
		if op.Op == "copy" {
			return addAt(doc, path, deepCopy(v))
		}
		if *op.From == *op.Path {
			return doc, nil
		}
		if strings.HasPrefix(*op.Path, *op.From+"/") {
			return nil, errors.New("move into own child")
		}
		if len(from) == 0 {
			return nil, errors.New("move of the root")
		}
		doc, err = removeAt(doc, from)
		if err != nil {
			return nil, err
		}
		return addAt(doc, path, v)
	case "test":
		want, err := opValue(op)
		if err != nil {
			return nil, err
		}
		got, err := getAt(doc, path)
		if err != nil {
			return nil, err
		}
		if !sameJSON(want, got) {
			return nil, errors.New("test failed")
		}
		return doc, nil
	}
	return nil, fmt.Errorf("unknown op %q", op.Op)
}

func parsePointer(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	if s[0] != '/' {
		return nil, fmt.Errorf("pointer %q does not start with /", s)
	}
	toks := strings.Split(s[1:], "/")
	for i, t := range toks {
		for j := 0; j < len(t); j++ {
			if t[j] == '~' && (j+1 == len(t) || (t[j+1] != '0' && t[j+1] != '1')) {
				return nil, fmt.Errorf("bad escape in pointer %q", s)
			}
		}
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks, nil
}

// arrayIndex parses an RFC 6901 array index that must be in [0, max].
func arrayIndex(tok string, max int) (int, error) {
	if tok == "" || (len(tok) > 1 && tok[0] == '0') {
		return 0, fmt.Errorf("bad array index %q", tok)
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return 0, fmt.Errorf("bad array index %q", tok)
		}
	}
	i, err := strconv.Atoi(tok)
	if err != nil || i > max {
		return 0, fmt.Errorf("array index %q out of range [0,%d]", tok, max)
	}
	return i, nil
}

func getAt(doc any, path []string) (any, error) {
	for _, tok := range path {
		switch n := doc.(type) {
		case map[string]any:
			v, ok := n[tok]
			if !ok {
				return nil, fmt.Errorf("missing key %q", tok)
			}
			doc = v
		case []any:
			i, err := arrayIndex(tok, len(n)-1)
			if err != nil {
				return nil, err
			}
			doc = n[i]
		default:
			return nil, fmt.Errorf("cannot index a %T", doc)
		}
	}
	return doc, nil
}

// updateAt replaces the value at path with f(value); every container on the
// way must exist.
func updateAt(doc any, path []string, f func(any) (any, error)) (any, error) {
	if len(path) == 0 {
		return f(doc)
	}
	switch n := doc.(type) {
	case map[string]any:
		child, ok := n[path[0]]
		if !ok {
			return nil, fmt.Errorf("missing key %q", path[0])
		}
		nc, err := updateAt(child, path[1:], f)
		if err != nil {
			return nil, err
		}
		n[path[0]] = nc
		return n, nil
	case []any:
		i, err := arrayIndex(path[0], len(n)-1)
		if err != nil {
			return nil, err
		}
		nc, err := updateAt(n[i], path[1:], f)
		if err != nil {
			return nil, err
		}
		n[i] = nc
		return n, nil
	}
	return nil, fmt.Errorf("cannot index a %T", doc)
}

func addAt(doc any, path []string, v any) (any, error) {
	if len(path) == 0 {
		return v, nil
	}
	last := path[len(path)-1]
	return updateAt(doc, path[:len(path)-1], func(parent any) (any, error) {
		switch p := parent.(type) {
		case map[string]any:
			p[last] = v
			return p, nil
		case []any:
			if last == "-" {
				return append(p, v), nil
			}
			i, err := arrayIndex(last, len(p))
			if err != nil {
				return nil, err
			}
			p = append(p, nil)
			copy(p[i+1:], p[i:])
			p[i] = v
			return p, nil
		}
		return nil, fmt.Errorf("add inside a %T", parent)
	})
}

func removeAt(doc any, path []string) (any, error) {
	last := path[len(path)-1]
	return updateAt(doc, path[:len(path)-1], func(parent any) (any, error) {
		switch p := parent.(type) {
		case map[string]any:
			if _, ok := p[last]; !ok {
				return nil, fmt.Errorf("remove of missing key %q", last)
			}
			delete(p, last)
			return p, nil
		case []any:
			i, err := arrayIndex(last, len(p)-1)
			if err != nil {
				return nil, err
			}
			return append(p[:i:i], p[i+1:]...), nil
		}
		return nil, fmt.Errorf("remove inside a %T", parent)
	})
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if v == nil {
			return v
		}
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		if v == nil {
			return v
		}
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = deepCopy(x)
		}
		return s
	}
	return v
}

// normalize rewrites numbers as json.Number holding the text encoding/json
// writes for them, and nil containers as nil, so that trees compare by
// their JSON meaning.
func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if v == nil {
			return nil
		}
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = normalize(x)
		}
		return m
	case []any:
		if v == nil {
			return nil
		}
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = normalize(x)
		}
		return s
	case float64:
		return json.Number(appendFloat(nil, v))
	case json.Number:
		return json.Number(numberText(v))
	}
	return v
}

func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(normalize(a))
	y, err2 := json.Marshal(normalize(b))
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
