package diff

import (
	"encoding/json"

	"github.com/wI2L/jsondiff"
	"gomodules.xyz/jsonpatch/v2"
)

// Differ computes an RFC 6902 patch between two decoded JSON trees.
//
// A decoded JSON tree is what encoding/json.Unmarshal produces when decoding
// into an any: map[string]any, []any, string, float64 or json.Number, bool
// and nil. Implementations are safe for concurrent use.
type Differ interface {
	// Diff returns the JSON encoding of the patch (a JSON array of operations) turning prev into next.
	// It returns nil (len 0) when the trees are equal. It never returns the bytes `null`.
	// It must not modify prev or next.
	Diff(prev, next any) ([]byte, error)
}

// Default returns the differ the kit uses: Tree.
//
// All three differs produced correct patches in every test (random pairs
// checked in Go and with json-joy and fast-json-patch under Node). On the
// five LiveState-shaped cases in diff_bench_test.go, Tree was the fastest
// in every case and made 1 allocation per Diff, with patches no larger
// than the others': about 2.2× faster than JSONDiff on a 95 KB todo list
// with one field flipped and on a 1 MB nested document with one deep
// change, 1.2× on an appended item, 9× on a 100-key flat map, and about
// 28× on "first item removed", where its keyed array diff writes one
// 35-byte remove while JSONDiff and JSONPatch rewrite every element
// (a 342 KB patch for a 97 KB state). JSONPatch, which has to marshal both
// trees, was 6–80× slower than JSONDiff. Tree's output is also
// deterministic, which JSONPatch's is not.
func Default() Differ { return Tree() }

// JSONDiff returns a differ backed by github.com/wI2L/jsondiff's
// CompareWithoutMarshal on the decoded trees, with default options.
//
// The options Factorize, Equivalent and LCS are deliberately not used:
// jsondiff's value hash gives null, false and "0" the same digest, so
// Factorize emits wrong copy operations and Equivalent misses changes, and
// LCS costs O(n·m) time and memory per array. Arrays are compared
// index-wise (appends use "/-"); a root whose type changes is an "add" at
// path "". float64 and json.Number are different types to jsondiff, so a
// number changing representation is replaced even when its text is equal.
// jsondiff returns a nil patch for equal trees, which this differ returns as
// nil bytes rather than the JSON null.
func JSONDiff() Differ { return jsonDiffDiffer{} }

type jsonDiffDiffer struct{}

func (jsonDiffDiffer) Diff(prev, next any) ([]byte, error) {
	p, err := jsondiff.CompareWithoutMarshal(prev, next)
	if err != nil {
		return nil, err
	}
	if len(p) == 0 {
		return nil, nil
	}
	return json.Marshal(p)
}

// JSONPatch returns a differ backed by gomodules.xyz/jsonpatch/v2's
// CreatePatch.
//
// CreatePatch only accepts JSON text, so each Diff marshals both trees and
// the library decodes them again (with UseNumber): on large states that
// round trip is most of the cost, several times the cost of diffing decoded
// trees directly. Objects are walked in map iteration order, so the order of
// operations (not their effect) varies from call to call. Arrays are
// compared index-wise; numbers compare by their encoded text.
func JSONPatch() Differ { return jsonPatchDiffer{} }

type jsonPatchDiffer struct{}

func (jsonPatchDiffer) Diff(prev, next any) ([]byte, error) {
	a, err := json.Marshal(prev)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(next)
	if err != nil {
		return nil, err
	}
	ops, err := jsonpatch.CreatePatch(a, b)
	if err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return nil, nil
	}
	return json.Marshal(ops)
}
