// Package diff computes the RFC 6902 JSON patches that LiveState channels
// send as "state:patch": given the state a client holds and the next one,
// it writes the operations that turn one into the other.
//
// Most applications never call it: livestate diffs every update with
// [Default] unless livestate.Options.Differ names another differ. Use this
// package to plug in a differ of your own (implement [Differ]) or to diff
// JSON outside a channel.
//
// # Which differ
//
// Use [Default], which is [Tree], the package's own differ. It is the
// fastest of the three on LiveState-shaped states, deterministic, and the
// only one that also compares JSON texts directly ([BytesDiffer]), which
// is how livestate uses it: the state's encoding is compared with the text
// last sent, with no decoding, reading little more than the part before
// the first change:
//
//	patch, err := diff.Default().(diff.BytesDiffer).DiffBytes(prevJSON, nextJSON)
//
// It also appends the patch to a buffer of the caller's ([BytesAppender]),
// so that a message wrapping the patch is written without copying it:
//
//	msg = append(msg, `{"patch":`...)
//	msg, err = diff.Default().(diff.BytesAppender).AppendDiffBytes(msg, prevJSON, nextJSON)
//
// or, on decoded trees (the any that encoding/json.Unmarshal produces:
// map[string]any, []any, string, float64 or json.Number, bool, nil):
//
//	patch, err := diff.Default().Diff(prevTree, nextTree)
//
// [JSONDiff] (github.com/wI2L/jsondiff) and [JSONPatch]
// (gomodules.xyz/jsonpatch/v2) are kept as references that the tests and
// benchmarks compare Tree with; they work on trees only and are slower.
//
// # Contract
//
// Every Differ returns the patch already encoded as a JSON array, returns
// nil (never the bytes null) when the two values are equal, and leaves its
// inputs untouched. Patches are plain RFC 6902 and apply with json-joy (the
// applier of the phx-live-state client) and fast-json-patch.
//
// A patch can be larger than the state: an array rewritten index by index
// (Tree pairs the items of arrays of objects with ids, but not others) or
// most of a small state changed. Callers that may send the whole state
// instead compare the patch's size with the encoded state's, as livestate
// does with Options.CompactWire (its default wire, live_state's, always
// sends the patch).
package diff
