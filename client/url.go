package client

import (
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// transportURL builds the URL of one transport from the socket's base
// endpoint the way phoenix.js does: "/websocket" or "/longpoll" is appended
// to the path, connect params follow any query already present, and vsn
// comes last.
func transportURL(base *url.URL, t Transport, params map[string]any, vsn string) string {
	u := *base
	switch {
	case t == LongPoll && u.Scheme == "ws":
		u.Scheme = "http"
	case t == LongPoll && u.Scheme == "wss":
		u.Scheme = "https"
	case t == WebSocket && u.Scheme == "http":
		u.Scheme = "ws"
	case t == WebSocket && u.Scheme == "https":
		u.Scheme = "wss"
	}
	suffix := "/websocket"
	if t == LongPoll {
		suffix = "/longpoll"
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + suffix
	if u.RawPath != "" {
		u.RawPath = strings.TrimSuffix(u.RawPath, "/") + suffix
	}
	var parts []string
	if u.RawQuery != "" {
		parts = append(parts, u.RawQuery)
	}
	if q := serializeParams(params); q != "" {
		parts = append(parts, q)
	}
	parts = append(parts, "vsn="+encodeURIComponent(vsn))
	u.RawQuery = strings.Join(parts, "&")
	u.Fragment = ""
	return u.String()
}

// serializeParams renders connect params like phoenix.js Ajax.serialize:
// flat keys as k=v, nested maps and slices as bracket keys (user[name]=x,
// ids[0]=1), every key and value percent-encoded like encodeURIComponent.
// Map keys are sorted so the result is deterministic; nil values are skipped.
func serializeParams(params map[string]any) string {
	var out []string
	serializeValue(&out, "", reflect.ValueOf(params))
	return strings.Join(out, "&")
}

func serializeValue(out *[]string, key string, v reflect.Value) {
	for v.IsValid() && (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer) {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if !v.IsValid() {
		return
	}
	switch v.Kind() {
	case reflect.Map:
		if v.IsNil() {
			return
		}
		keys := make([]string, 0, v.Len())
		vals := make(map[string]reflect.Value, v.Len())
		for it := v.MapRange(); it.Next(); {
			k := fmt.Sprint(it.Key().Interface())
			keys = append(keys, k)
			vals[k] = it.Value()
		}
		sort.Strings(keys)
		for _, k := range keys {
			serializeValue(out, childKey(key, k), vals[k])
		}
		return
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			break // []byte: a string value
		}
		for i := range v.Len() {
			serializeValue(out, childKey(key, strconv.Itoa(i)), v.Index(i))
		}
		return
	}
	*out = append(*out, encodeURIComponent(key)+"="+encodeURIComponent(scalarString(v)))
}

func childKey(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "[" + key + "]"
}

func scalarString(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'f', -1, 64)
	case reflect.Slice: // []byte
		return string(v.Bytes())
	}
	return fmt.Sprint(v.Interface())
}

// encodeURIComponent escapes everything except A-Z a-z 0-9 - _ . ! ~ * ' ( ),
// exactly like the JavaScript function of the same name.
func encodeURIComponent(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
