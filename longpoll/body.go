package longpoll

import (
	"bytes"
	"encoding/base64"
	"errors"
	"mime"
)

// ndjsonType is the content type phoenix.js (≥ 1.7.0) sends its POST
// batches with.
const ndjsonType = "application/x-ndjson"

// isNDJSON reports whether a Content-Type header announces an ndjson batch
// (parameters such as charset are allowed).
func isNDJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == ndjsonType
}

// errBadLine reports an ndjson line that is neither a JSON frame nor valid
// base64.
var errBadLine = errors.New("longpoll: ndjson line is neither a JSON frame nor base64")

// eachFrame splits a POST body into inbound frames and calls fn for each, in
// order, stopping at the first error. An ndjson body holds one frame per
// line (separated by "\n" or "\r\n"): a line starting with '[' (v2) or '{'
// (v1) is a text frame; any other line is the standard base64 (padded or
// not) of a binary frame. Empty lines are skipped. Without ndjson the whole
// body is one text frame (old clients); an empty body holds no frame.
func eachFrame(body []byte, ndjson bool, fn func(data []byte, binary bool) error) error {
	if !ndjson {
		if len(body) == 0 {
			return nil
		}
		return fn(body, false)
	}
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			continue
		}
		if line[0] == '[' || line[0] == '{' {
			if err := fn(line, false); err != nil {
				return err
			}
			continue
		}
		bin, err := decodeBase64Line(line)
		if err != nil {
			return errBadLine
		}
		if err := fn(bin, true); err != nil {
			return err
		}
	}
	return nil
}

// decodeBase64Line decodes canonical standard base64, padded (what
// phoenix.js's btoa produces) or not.
func decodeBase64Line(line []byte) ([]byte, error) {
	enc := base64.StdEncoding.Strict()
	if len(line)%4 != 0 {
		enc = base64.RawStdEncoding.Strict()
	}
	out := make([]byte, enc.DecodedLen(len(line)))
	n, err := enc.Decode(out, line)
	return out[:n], err
}
