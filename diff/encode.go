package diff

import (
	"encoding/json"
	"fmt"
	"github.com/seance-go/seance/internal/jsonenc"
	"math"
	"slices"
	"strconv"
)

// diffError carries an error out of the recursive differ through a panic;
// it is recovered at the top of Tree's Diff and never escapes the package.
type diffError struct{ err error }

func fail(format string, args ...any) {
	panic(diffError{fmt.Errorf("diff: "+format, args...)})
}

// encoder writes decoded JSON trees with the exact bytes encoding/json's
// Marshal would produce for them (sorted object keys, HTML-safe string
// escaping, the same float formatting), without reflection.
type encoder struct {
	keys []string // scratch stack for sorting object keys
}

// appendValue appends the JSON encoding of v to dst.
func (e *encoder) appendValue(dst []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...)
	case bool:
		if v {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case string:
		return appendString(dst, v)
	case float64:
		return appendFloat(dst, v)
	case json.Number:
		return appendNumber(dst, v)
	case []any:
		if v == nil {
			return append(dst, "null"...)
		}
		dst = append(dst, '[')
		for i, x := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = e.appendValue(dst, x)
		}
		return append(dst, ']')
	case map[string]any:
		if v == nil {
			return append(dst, "null"...)
		}
		mark := len(e.keys)
		for k := range v {
			e.keys = append(e.keys, k)
		}
		keys := e.keys[mark:]
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			dst = e.appendValue(dst, v[k])
		}
		clear(keys) // drop references to the caller's strings
		e.keys = e.keys[:mark]
		return append(dst, '}')
	default:
		fail("unsupported type %T in JSON tree", v)
		return nil
	}
}

// appendFloat formats f exactly like encoding/json does for float64.
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		fail("unsupported value %v in JSON tree", f)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// appendNumber writes a json.Number verbatim ("" as 0, like encoding/json),
// rejecting text that is not a JSON number literal.
func appendNumber(dst []byte, n json.Number) []byte {
	if n == "" {
		return append(dst, '0')
	}
	if !validNumber(string(n)) {
		fail("invalid number literal %q in JSON tree", string(n))
	}
	return append(dst, n...)
}

// validNumber reports whether s is a JSON number literal (RFC 8259 §6).
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

// appendString writes s as a JSON string with encoding/json's default
// (HTML-safe) escaping.
func appendString(dst []byte, s string) []byte { return jsonenc.AppendString(dst, s, true) }

// appendStringContent is appendString without the quotes.
func appendStringContent(dst []byte, s string) []byte {
	return jsonenc.AppendStringContent(dst, s, true)
}
