package handler_test

// Seed corpora live in testdata/fuzz/<FuzzName>/. Run a target with e.g.
//
//	go test -run '^$' -fuzz FuzzParseParams -fuzztime 30s ./handler/

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/seance-go/seance/handler"
)

// FuzzParseParams: any query is either refused by the default limits with
// 414 or 400, or it holds at most 100 parameters of at most 8 brackets once
// decoded (the raw check is a sound bound), and ParseParams then never
// panics, is deterministic, nests no deeper than the keys do and keeps the
// last value of a plain key.
func FuzzParseParams(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		c := handler.Connector{}
		err := c.CheckQuery(&http.Request{URL: &url.URL{RawQuery: raw}})
		q, _ := url.ParseQuery(raw) // keeps the pairs it could decode
		if err != nil {
			var he *handler.HTTPError
			if !errors.As(err, &he) || (he.Status != http.StatusRequestURITooLong && he.Status != http.StatusBadRequest) {
				t.Fatalf("CheckQuery = %v, want a 414 or 400 HTTPError", err)
			}
			if (he.Status == http.StatusRequestURITooLong) != (len(raw) > 8<<10) {
				t.Fatalf("status %d for a query of %d bytes", he.Status, len(raw))
			}
			return
		}
		n, deepest := 0, 0
		for key, vs := range q {
			n += len(vs)
			deepest = max(deepest, strings.Count(key, "["))
		}
		if n > 100 || deepest > 8 {
			t.Fatalf("accepted %q: %d parameters, depth %d once decoded", raw, n, deepest)
		}
		out := handler.ParseParams(q)
		if again := handler.ParseParams(q); !reflect.DeepEqual(out, again) {
			t.Fatalf("ParseParams(%q) is not deterministic: %v then %v", raw, out, again)
		}
		if d := depth(out); d > deepest+1 {
			t.Fatalf("ParseParams(%q) nests %d levels for keys of depth %d", raw, d, deepest)
		}
		for key, vs := range q {
			if strings.ContainsAny(key, "[]") || hasBracketKey(q, key) {
				continue
			}
			if got := out[key]; got != vs[len(vs)-1] {
				t.Fatalf("ParseParams(%q)[%q] = %#v, want the last value %q", raw, key, got, vs[len(vs)-1])
			}
		}
	})
}

// hasBracketKey reports whether q has a key "name[…".
func hasBracketKey(q url.Values, name string) bool {
	for key := range q {
		if strings.HasPrefix(key, name+"[") {
			return true
		}
	}
	return false
}

// depth counts the levels of nested maps and lists of v (a leaf is 0).
func depth(v any) int {
	d := 0
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			d = max(d, depth(e))
		}
	case []any:
		for _, e := range x {
			d = max(d, depth(e))
		}
	default:
		return 0
	}
	return d + 1
}
