package livestate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"
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

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as encoding/json does: HTML-safe, U+2028 and
// U+2029 escaped, invalid UTF-8 as U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// stringLen is len(appendJSONString(nil, s)).
func stringLen(s string) int {
	n := 2
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			switch {
			case b == '"' || b == '\\' || b == '\b' || b == '\f' || b == '\n' || b == '\r' || b == '\t':
				n += 2
			case b < 0x20 || b == '<' || b == '>' || b == '&':
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1, c == '\u2028', c == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	return n
}
