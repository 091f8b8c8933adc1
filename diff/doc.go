// Package diff computes RFC 6902 JSON Patch documents between two decoded
// JSON trees, as sent in LiveState "state:patch" messages.
//
// The server keeps the last state it sent to a client as a decoded tree
// (the any that encoding/json.Unmarshal produces: map[string]any, []any,
// string, float64 or json.Number, bool, nil) and diffs it against the next
// state's tree:
//
//	patch, err := diff.Default().Diff(prevTree, nextTree)
//	if err != nil { ... }
//	if len(patch) == 0 { /* nothing changed */ }
//
// Every Differ returns the patch already encoded as a JSON array, returns
// nil (never the bytes null) when the trees are equal, and leaves its inputs
// untouched. Patches are plain RFC 6902 and apply with json-joy (the
// applier of the phx-live-state client) and fast-json-patch.
//
// Tree also implements [BytesDiffer]: its DiffBytes compares two JSON
// texts directly, so that a server keeping the encoded state it last sent
// needs no decoded tree at all, and it reads of a large text little more
// than the part before the first difference:
//
//	patch, err := diff.Default().(diff.BytesDiffer).DiffBytes(prevJSON, nextJSON)
//
// Three implementations are offered: Tree, written for this package;
// JSONDiff, backed by github.com/wI2L/jsondiff; and JSONPatch, backed by
// gomodules.xyz/jsonpatch/v2. Default returns the one the kit uses.
//
// Index-wise array diffs can be larger than the state itself (removing the
// first of 1,000 items rewrites every element), and even Tree's keyed array
// diff only helps arrays of objects with ids. Callers that may send the
// full state instead (livestate.Options.CompactWire) compare the patch size
// with the size of the encoded state.
package diff
