package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Reserved event names and the system topic (phoenix-channels.md §2, §3).
const (
	eventJoin      = "phx_join"
	eventLeave     = "phx_leave"
	eventReply     = "phx_reply"
	eventClose     = "phx_close"
	eventError     = "phx_error"
	eventHeartbeat = "heartbeat"
	topicPhoenix   = "phoenix"
)

// Binary frame kinds (phoenix-channels.md §2.3).
const (
	kindPush      = 0
	kindReply     = 1
	kindBroadcast = 2
)

// maxFieldLen is the largest join_ref, ref, topic, event or status a binary
// frame can carry: its length is one unsigned byte.
const maxFieldLen = 255

// frame is one decoded or to-be-encoded protocol message. An empty joinRef
// or ref stands for JSON null.
type frame struct {
	joinRef string
	ref     string
	topic   string
	event   string
	// payload is JSON text, or raw bytes when binary is set.
	payload []byte
	binary  bool
	// status is set only for binary replies (kind 1), whose status travels
	// in the header; their payload is the raw response.
	status string
}

// codec selects the wire format negotiated through the vsn query parameter.
type codec int

const (
	codecV2 codec = iota // JSON arrays and binary frames, vsn 2.0.0
	codecV1              // JSON objects, vsn 1.0.0, no binary
)

// errFrame wraps every decoding failure.
var errFrame = errors.New("client: malformed frame")

func frameErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errFrame, fmt.Sprintf(format, args...))
}

// encode renders f for the wire. The bool result reports a binary frame.
func (c codec) encode(f *frame) ([]byte, bool, error) {
	if f.binary {
		if c != codecV2 {
			return nil, false, errors.New("client: binary payloads need protocol version 2")
		}
		b, err := encodeBinaryPush(f)
		return b, true, err
	}
	payload := f.payload
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if c == codecV1 {
		return encodeV1(f, payload), false, nil
	}
	buf := make([]byte, 0, 24+len(f.joinRef)+len(f.ref)+len(f.topic)+len(f.event)+len(payload))
	buf = append(buf, '[')
	buf = appendNullableString(buf, f.joinRef)
	buf = append(buf, ',')
	buf = appendNullableString(buf, f.ref)
	buf = append(buf, ',')
	buf = appendString(buf, f.topic)
	buf = append(buf, ',')
	buf = appendString(buf, f.event)
	buf = append(buf, ',')
	buf = append(buf, payload...)
	buf = append(buf, ']')
	return buf, false, nil
}

func encodeV1(f *frame, payload []byte) []byte {
	buf := make([]byte, 0, 64+len(payload))
	buf = append(buf, `{"topic":`...)
	buf = appendString(buf, f.topic)
	buf = append(buf, `,"event":`...)
	buf = appendString(buf, f.event)
	buf = append(buf, `,"payload":`...)
	buf = append(buf, payload...)
	buf = append(buf, `,"ref":`...)
	buf = appendNullableString(buf, f.ref)
	buf = append(buf, `,"join_ref":`...)
	buf = appendNullableString(buf, f.joinRef)
	buf = append(buf, '}')
	return buf
}

// encodeBinaryPush builds a client→server binary push (kind 0, 5-byte header).
func encodeBinaryPush(f *frame) ([]byte, error) {
	fields := [...]string{f.joinRef, f.ref, f.topic, f.event}
	n := 5 + len(f.payload)
	for _, s := range fields {
		if len(s) > maxFieldLen {
			return nil, fmt.Errorf("client: binary frame field %q is longer than %d bytes", truncate(s), maxFieldLen)
		}
		n += len(s)
	}
	buf := make([]byte, 0, n)
	buf = append(buf, kindPush)
	for _, s := range fields {
		buf = append(buf, byte(len(s)))
	}
	for _, s := range fields {
		buf = append(buf, s...)
	}
	return append(buf, f.payload...), nil
}

func truncate(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}

func appendString(buf []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return append(buf, b...)
}

func appendNullableString(buf []byte, s string) []byte {
	if s == "" {
		return append(buf, "null"...)
	}
	return appendString(buf, s)
}

// decode parses one frame received from the server.
func (c codec) decode(data []byte, binary bool) (*frame, error) {
	if binary {
		if c != codecV2 {
			return nil, frameErr("binary frame on a v1 connection")
		}
		return decodeBinary(data)
	}
	if c == codecV1 {
		return decodeV1(data)
	}
	return decodeV2Text(data)
}

func decodeV2Text(data []byte) (*frame, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(data, &elems); err != nil {
		return nil, frameErr("%v", err)
	}
	if len(elems) < 5 {
		return nil, frameErr("array has %d elements, want 5", len(elems))
	}
	f := &frame{}
	var err error
	if f.joinRef, err = decodeRef(elems[0]); err != nil {
		return nil, frameErr("join_ref: %v", err)
	}
	if f.ref, err = decodeRef(elems[1]); err != nil {
		return nil, frameErr("ref: %v", err)
	}
	if err = json.Unmarshal(elems[2], &f.topic); err != nil || !isJSONString(elems[2]) {
		return nil, frameErr("topic is not a string")
	}
	if err = json.Unmarshal(elems[3], &f.event); err != nil || !isJSONString(elems[3]) {
		return nil, frameErr("event is not a string")
	}
	f.payload = elems[4]
	return f, nil
}

func decodeV1(data []byte) (*frame, error) {
	var obj struct {
		Topic   *string         `json:"topic"`
		Event   *string         `json:"event"`
		Payload json.RawMessage `json:"payload"`
		Ref     json.RawMessage `json:"ref"`
		JoinRef json.RawMessage `json:"join_ref"`
	}
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, frameErr("%v", err)
	}
	if obj.Topic == nil || obj.Event == nil {
		return nil, frameErr("missing topic or event")
	}
	f := &frame{topic: *obj.Topic, event: *obj.Event, payload: obj.Payload}
	if len(f.payload) == 0 {
		f.payload = []byte("null")
	}
	var err error
	if f.ref, err = decodeRef(obj.Ref); err != nil {
		return nil, frameErr("ref: %v", err)
	}
	if f.joinRef, err = decodeRef(obj.JoinRef); err != nil {
		return nil, frameErr("join_ref: %v", err)
	}
	return f, nil
}

func isJSONString(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '"'
}

// decodeRef accepts a JSON string, null (or absence) and, leniently, an
// integer, which is kept as its decimal text.
func decodeRef(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if _, err := strconv.ParseInt(string(raw), 10, 64); err != nil {
			return "", errors.New("not an integer")
		}
		return string(raw), nil
	}
	return "", errors.New("not a string or null")
}

// decodeBinary parses server→client binary frames: push (kind 0, 4-byte
// header), reply (kind 1, 5-byte header) and broadcast (kind 2, 3-byte header).
func decodeBinary(data []byte) (*frame, error) {
	if len(data) == 0 {
		return nil, frameErr("empty binary frame")
	}
	var nfields int
	switch data[0] {
	case kindPush:
		nfields = 3 // join_ref, topic, event
	case kindReply:
		nfields = 4 // join_ref, ref, topic, status
	case kindBroadcast:
		nfields = 2 // topic, event
	default:
		return nil, frameErr("unknown binary kind %d", data[0])
	}
	header := 1 + nfields
	if len(data) < header {
		return nil, frameErr("binary header truncated")
	}
	fields := make([]string, nfields)
	off := header
	for i := range nfields {
		n := int(data[1+i])
		if len(data) < off+n {
			return nil, frameErr("binary field %d truncated", i)
		}
		fields[i] = string(data[off : off+n])
		off += n
	}
	payload := append([]byte{}, data[off:]...)
	f := &frame{payload: payload, binary: true}
	switch data[0] {
	case kindPush:
		f.joinRef, f.topic, f.event = fields[0], fields[1], fields[2]
	case kindReply:
		f.joinRef, f.ref, f.topic, f.status = fields[0], fields[1], fields[2], fields[3]
		f.event = eventReply
	case kindBroadcast:
		f.topic, f.event = fields[0], fields[1]
	}
	return f, nil
}

// parseReply extracts a Reply from a phx_reply frame.
func parseReply(f *frame) (*Reply, error) {
	if f.binary {
		return &Reply{Status: f.status, Response: f.payload, Binary: true}, nil
	}
	var body struct {
		Status   *string         `json:"status"`
		Response json.RawMessage `json:"response"`
	}
	if err := json.Unmarshal(f.payload, &body); err != nil || body.Status == nil {
		return nil, frameErr("phx_reply payload without status")
	}
	resp := body.Response
	if len(resp) == 0 {
		resp = json.RawMessage("null")
	}
	return &Reply{Status: *body.Status, Response: resp}, nil
}
