// Package jsonpatch applies RFC 6902 JSON Patch documents to decoded JSON
// trees (map[string]any, []any, string, json.Number, bool, nil), strictly:
// every operation is checked, paths follow RFC 6901 (~0, ~1, empty keys,
// "-" only where add appends), and a failing patch leaves the input
// untouched. It is the applier behind the LiveState mirror.
package jsonpatch
