package phx

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/seance-go/seance/internal/jsonenc"
)

// Ref is a message reference (ref or join_ref) exactly as the client sent it.
// The zero Ref is null.
type Ref struct {
	raw string // JSON text as received ("\"12\"") or "" for null
	val string // decoded string value
}

// NewRef returns a Ref holding the string s.
func NewRef(s string) Ref {
	return Ref{raw: string(appendJSONString(nil, s)), val: s}
}

// clone returns r in memory of its own (one allocation), so that keeping
// it does not keep the frame it was decoded from.
func (r Ref) clone() Ref {
	if r.raw == "" {
		return Ref{}
	}
	raw := strings.Clone(r.raw)
	if len(raw) == len(r.val)+2 && raw[1:len(raw)-1] == r.val {
		return Ref{raw: raw, val: raw[1 : len(raw)-1]}
	}
	return Ref{raw: raw, val: strings.Clone(r.val)}
}

// IsNull reports whether the reference is null or the empty string. The Go
// client nshafer/phx sends "" where phoenix.js sends null.
func (r Ref) IsNull() bool { return r.val == "" }

// String returns the decoded value of the reference ("" for null).
func (r Ref) String() string { return r.val }

// jsonLen is the length of r's JSON text.
func (r Ref) jsonLen() int {
	if r.raw == "" {
		return len("null")
	}
	return len(r.raw)
}

// appendJSON appends the reference as the client sent it, or null.
func (r Ref) appendJSON(b []byte) []byte {
	if r.raw == "" {
		return append(b, "null"...)
	}
	return append(b, r.raw...)
}

// Payload is the body of an inbound message: JSON text, or raw bytes when the
// client sent a binary frame.
type Payload struct {
	// Data is the JSON text of the payload, or the raw bytes of a binary frame.
	Data []byte
	// Binary reports that Data came from a binary frame.
	Binary bool
}

// Decode unmarshals a JSON payload into v. A null or absent payload leaves v
// untouched. Decoding a binary payload is an error.
func (p Payload) Decode(v any) error {
	if p.Binary {
		return errors.New("phx: cannot decode a binary payload as JSON")
	}
	if p.IsNull() {
		return nil
	}
	return json.Unmarshal(p.Data, v)
}

// IsNull reports whether the payload is empty or the JSON null.
func (p Payload) IsNull() bool {
	if p.Binary {
		return false
	}
	d := bytes.TrimSpace(p.Data)
	return len(d) == 0 || string(d) == "null"
}

// MarshalJSON makes a JSON payload embeddable as is; a binary payload is
// encoded as a base64 string.
func (p Payload) MarshalJSON() ([]byte, error) {
	if p.Binary {
		return json.Marshal(p.Data)
	}
	if p.IsNull() {
		return []byte("null"), nil
	}
	return p.Data, nil
}

// Message is one decoded inbound frame.
type Message struct {
	JoinRef Ref
	Ref     Ref
	Topic   string
	Event   string
	Payload Payload
}

// Binary is a payload or reply response sent as a binary frame instead of
// JSON. Long-poll clients cannot receive binary frames.
type Binary []byte

// Reply is the answer to a client push: a status ("ok", "error" or any other
// string) and a response, encoded as {"status":…,"response":…}. A nil
// Response is sent as {}. A [Binary] response is sent as a binary reply frame.
type Reply struct {
	Status   string
	Response any
}

// Ok returns a Reply with status "ok".
func Ok(response any) *Reply { return &Reply{Status: "ok", Response: response} }

// Err returns a Reply with status "error".
func Err(response any) *Reply { return &Reply{Status: "error", Response: response} }

// Raw is pre-encoded JSON sent as is (it must be valid JSON).
type Raw = json.RawMessage

// encodeJSONPayload turns a Go value into the JSON text of a payload that is
// never null: nil and values marshalling to null become {}.
func encodeJSONPayload(v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return []byte("{}"), nil
	case json.RawMessage:
		if len(bytes.TrimSpace(x)) == 0 || string(bytes.TrimSpace(x)) == "null" {
			return []byte("{}"), nil
		}
		if !json.Valid(x) {
			return nil, errors.New("phx: invalid raw JSON payload")
		}
		return x, nil
	case Payload:
		if x.Binary {
			return nil, errors.New("phx: binary payload where JSON is required")
		}
		if x.IsNull() {
			return []byte("{}"), nil
		}
		return x.Data, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if string(b) == "null" {
		return []byte("{}"), nil
	}
	return b, nil
}

// appendJSONString appends s as a JSON string, escaping like encoding/json
// (without HTML escaping).
func appendJSONString(b []byte, s string) []byte { return jsonenc.AppendString(b, s, false) }
