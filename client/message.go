package client

import (
	"encoding/json"
	"errors"
)

// Message is an event the server sent to a channel: a push, a broadcast,
// or the system events phx_close and phx_error.
type Message struct {
	Topic   string
	Event   string
	JoinRef string // "" when the frame carried null (broadcasts)
	Ref     string // "" when the frame carried null
	// Payload is the JSON payload, or the raw bytes of a binary frame.
	Payload []byte
	Binary  bool
}

// Decode unmarshals a JSON payload into v.
func (m Message) Decode(v any) error {
	if m.Binary {
		return errors.New("client: cannot JSON-decode a binary payload")
	}
	return json.Unmarshal(m.Payload, v)
}

// Reply is the server's answer to a push, join or leave.
type Reply struct {
	// Status is "ok", "error" or any status the server chose.
	Status string
	// Response is the JSON "response" member, or the raw bytes of a binary
	// reply.
	Response []byte
	Binary   bool
}

// Err returns nil for an "ok" reply and a *ReplyError otherwise.
func (r *Reply) Err() error {
	if r.Status == "ok" {
		return nil
	}
	return &ReplyError{Status: r.Status, Response: r.Response, Binary: r.Binary}
}

// Decode unmarshals a JSON response into v.
func (r *Reply) Decode(v any) error {
	if r.Binary {
		return errors.New("client: cannot JSON-decode a binary response")
	}
	return json.Unmarshal(r.Response, v)
}

// Binary marks a push payload to be sent as a binary frame (WebSocket v2) or
// a base64 line (long-poll) instead of JSON.
type Binary []byte

// encodePayload turns a push payload into wire bytes.
func encodePayload(v any) ([]byte, bool, error) {
	switch p := v.(type) {
	case nil:
		return []byte("{}"), false, nil
	case Binary:
		return append([]byte{}, p...), true, nil
	case json.RawMessage:
		if !json.Valid(p) {
			return nil, false, errors.New("client: payload is not valid JSON")
		}
		return append([]byte{}, p...), false, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false, err
	}
	return b, false, nil
}
