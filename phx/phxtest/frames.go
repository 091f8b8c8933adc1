package phxtest

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/seance-go/seance/phx"
)

// decode reads an outbound frame of the v2 serializer as the JavaScript
// client does: a JSON array, or a binary frame for binary payloads.
func decode(f phx.Frame) (Message, error) {
	if f.Binary {
		return decodeBinary(f.Data)
	}
	var parts [5]json.RawMessage
	if err := json.Unmarshal(f.Data, &parts); err != nil {
		return Message{}, fmt.Errorf("%s: %w", f.Data, err)
	}
	var joinRef, ref *string
	var m Message
	for _, field := range []struct {
		raw json.RawMessage
		dst any
	}{{parts[0], &joinRef}, {parts[1], &ref}, {parts[2], &m.Topic}, {parts[3], &m.Event}} {
		if err := json.Unmarshal(field.raw, field.dst); err != nil {
			return Message{}, fmt.Errorf("%s: %w", f.Data, err)
		}
	}
	if joinRef != nil {
		m.JoinRef = *joinRef
	}
	if ref != nil {
		m.Ref = *ref
	}
	m.Payload = parts[4]
	switch {
	case m.Event == "phx_reply":
		var r struct {
			Status   string          `json:"status"`
			Response json.RawMessage `json:"response"`
		}
		if err := json.Unmarshal(parts[4], &r); err != nil {
			return Message{}, fmt.Errorf("reply %s: %w", f.Data, err)
		}
		m.Kind, m.Event, m.Payload = KindReply, r.Status, r.Response
	case joinRef == nil:
		m.Kind = KindBroadcast
	default:
		m.Kind = KindPush
	}
	return m, nil
}

var errShortFrame = errors.New("short binary frame")

// decodeBinary reads the binary forms: push (0), reply (1), broadcast (2).
func decodeBinary(b []byte) (Message, error) {
	if len(b) == 0 {
		return Message{}, errShortFrame
	}
	var sizes int
	var m Message
	switch b[0] {
	case 0:
		m.Kind, sizes = KindPush, 3
	case 1:
		m.Kind, sizes = KindReply, 4
	case 2:
		m.Kind, sizes = KindBroadcast, 2
	default:
		return Message{}, fmt.Errorf("binary frame of unknown kind %d", b[0])
	}
	if len(b) < 1+sizes {
		return Message{}, errShortFrame
	}
	rest := b[1+sizes:]
	fields := make([]string, sizes)
	for i := range fields {
		n := int(b[1+i])
		if len(rest) < n {
			return Message{}, errShortFrame
		}
		fields[i], rest = string(rest[:n]), rest[n:]
	}
	switch m.Kind {
	case KindPush:
		m.JoinRef, m.Topic, m.Event = fields[0], fields[1], fields[2]
	case KindReply:
		m.JoinRef, m.Ref, m.Topic, m.Event = fields[0], fields[1], fields[2], fields[3]
	case KindBroadcast:
		m.Topic, m.Event = fields[0], fields[1]
	}
	m.Payload, m.Binary = rest, true
	return m, nil
}

// binaryPush encodes a client push with a binary payload.
func binaryPush(joinRef, ref, topic, event string, payload []byte) []byte {
	b := []byte{0, byte(len(joinRef)), byte(len(ref)), byte(len(topic)), byte(len(event))}
	b = append(b, joinRef...)
	b = append(b, ref...)
	b = append(b, topic...)
	b = append(b, event...)
	return append(b, payload...)
}
