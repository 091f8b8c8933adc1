package phx

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// Frame is one encoded outbound frame: JSON text, or bytes for a binary
// WebSocket message.
type Frame struct {
	Data   []byte
	Binary bool
	// Shared is set on a frame queued unchanged to many sessions (a
	// broadcast's, a [Prepared] message's): a transport may keep there a
	// form of Data it derives for the wire (a compressed one), built once
	// for every session it is queued to. nil on a frame of one session.
	Shared *SharedFrame
}

// SharedFrame holds one value a transport derives from a shared [Frame].
// Its zero value is ready to use.
type SharedFrame struct {
	once sync.Once
	v    any
}

// Derive returns the value derived from the frame, calling build the first
// time only: concurrent callers wait for that first call. Every transport
// of the frame must derive the same kind of value (the handler stores the
// frame's permessage-deflate form).
func (s *SharedFrame) Derive(build func() any) any {
	s.once.Do(func() { s.v = build() })
	return s.v
}

// Kind tells what an outbound message is.
type Kind uint8

const (
	// KindPush is a message from a channel to its client (join_ref set, ref
	// null; phx_close and phx_error carry ref = join_ref).
	KindPush Kind = iota
	// KindReply answers a client message (phx_reply with status and response).
	KindReply
	// KindBroadcast is a message to every subscriber of a topic (both refs null).
	KindBroadcast
)

// Outgoing is an outbound message before encoding.
type Outgoing struct {
	Kind    Kind
	JoinRef Ref
	Ref     Ref
	Topic   string
	Event   string // ignored for replies, which are always "phx_reply"
	Status  string // replies only
	// Payload is the JSON text of the payload (the response, for replies), or
	// the raw bytes when Binary is set.
	Payload []byte
	Binary  bool
}

// Serializer converts between frames and messages for one protocol version.
// [V2JSON] and [V1JSON] are provided; the transport picks one per connection
// from the client's vsn parameter with [SerializerFor].
type Serializer interface {
	// Version is the protocol version served, such as "2.0.0".
	Version() string
	// Decode parses one inbound frame. Malformed frames, text frames that
	// are not valid UTF-8 and binary frames whose refs, topic or event are
	// not, are refused with a [*CloseError] of code 1007.
	Decode(data []byte, binary bool) (Message, error)
	// Encode renders one outbound message.
	Encode(m *Outgoing) (Frame, error)
}

// ErrBinaryUnsupported is returned when a binary message is encoded for a
// serializer or transport that cannot carry it (v1 JSON, long-poll).
var ErrBinaryUnsupported = errors.New("phx: binary frames are not supported by this serializer or transport")

// V2JSON returns the Phoenix v2 serializer: JSON arrays
// [join_ref, ref, topic, event, payload] for text and the v2 binary layout for
// binary frames.
func V2JSON() Serializer { return v2{} }

// V1JSON returns the legacy Phoenix v1 serializer (JSON objects, no binary).
func V1JSON() Serializer { return v1{} }

// SerializerFor picks the serializer for a client's vsn parameter with
// Phoenix's rules: "" and 1.0.x select v1, 2.0.x selects v2, anything else is
// refused (ok is false).
func SerializerFor(vsn string) (s Serializer, ok bool) {
	if vsn == "" {
		return V1JSON(), true
	}
	major, minor, ok := parseVsn(vsn)
	if !ok || minor != 0 {
		return nil, false
	}
	switch major {
	case 1:
		return V1JSON(), true
	case 2:
		return V2JSON(), true
	}
	return nil, false
}

// parseVsn parses "MAJOR.MINOR.PATCH" (a pre-release or build suffix is
// allowed on the patch).
func parseVsn(v string) (major, minor int, ok bool) {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) != 3 {
		return 0, 0, false
	}
	num := func(s string) (int, bool) {
		if s == "" || len(s) > 6 {
			return 0, false
		}
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	major, ok1 := num(parts[0])
	minor, ok2 := num(parts[1])
	patch := parts[2]
	if i := strings.IndexAny(patch, "-+"); i >= 0 {
		patch = patch[:i]
	}
	_, ok3 := num(patch)
	return major, minor, ok1 && ok2 && ok3
}

// malformed wraps a decoding error as a close error.
func malformed(format string, args ...any) error {
	return &CloseError{Code: CloseInvalidData, Reason: "malformed frame: " + fmt.Sprintf(format, args...)}
}

// errInvalidUTF8 closes a connection whose text frame, or the text parts
// of whose binary frame (refs, topic, event), are not valid UTF-8 (RFC 6455
// requires 1007 for text frames; browsers fail on such frames, so relaying
// one would disconnect every browser subscriber of a topic).
func errInvalidUTF8() error {
	return &CloseError{Code: CloseInvalidData, Reason: "invalid UTF-8"}
}

type v2 struct{}

func (v2) Version() string { return "2.0.0" }

func (v2) Decode(data []byte, binary bool) (Message, error) {
	if binary {
		return decodeBinaryPush(data)
	}
	if !validText(data) {
		return Message{}, errInvalidUTF8()
	}
	if m, ok := decodeV2Compact(data); ok {
		return m, nil
	}
	return decodeV2General(data)
}

// decodeV2General decodes any v2 text frame.
func decodeV2General(data []byte) (Message, error) {
	var parts []json.RawMessage
	if err := json.Unmarshal(data, &parts); err != nil {
		return Message{}, malformed("not a JSON array")
	}
	if len(parts) < 5 {
		return Message{}, malformed("%d elements, want 5", len(parts))
	}
	var m Message
	var err error
	if m.JoinRef, err = decodeRef(parts[0]); err != nil {
		return Message{}, malformed("join_ref: %v", err)
	}
	if m.Ref, err = decodeRef(parts[1]); err != nil {
		return Message{}, malformed("ref: %v", err)
	}
	if m.Topic, err = decodeString(parts[2]); err != nil {
		return Message{}, malformed("topic: %v", err)
	}
	if m.Event, err = decodeString(parts[3]); err != nil {
		return Message{}, malformed("event: %v", err)
	}
	m.Payload = Payload{Data: parts[4]}
	return m, nil
}

// decodeV2Compact decodes the frames phoenix.js sends,
// [join_ref|null,ref|null,"topic","event",payload] without whitespace between
// the elements nor escapes in the strings, without reflection. It reports
// false for anything else, which the general path then accepts or rejects.
// The payload shares data's memory.
func decodeV2Compact(data []byte) (Message, bool) {
	n := len(data)
	if n < 2 || data[0] != '[' || data[n-1] != ']' {
		return Message{}, false
	}
	// Bounds first, then one string for the refs, topic and event: the
	// fields are substrings of it (one allocation per frame, not four).
	var joinRef, ref, topic, event [2]int
	i := 1
	var ok bool
	if joinRef, i, ok = scanRef(data, i); !ok || data[i] != ',' {
		return Message{}, false
	}
	if ref, i, ok = scanRef(data, i+1); !ok || data[i] != ',' {
		return Message{}, false
	}
	if topic, i, ok = scanString(data, i+1); !ok || data[i] != ',' {
		return Message{}, false
	}
	if event, i, ok = scanString(data, i+1); !ok || data[i] != ',' {
		return Message{}, false
	}
	payload := data[i+1 : n-1]
	if len(payload) == 0 || isJSONSpace(payload[0]) || isJSONSpace(payload[len(payload)-1]) || !validPayload(payload) {
		return Message{}, false
	}
	head := string(data[:i])
	var m Message
	m.JoinRef, m.Ref = refIn(head, joinRef), refIn(head, ref)
	m.Topic, m.Event = head[topic[0]:topic[1]], head[event[0]:event[1]]
	m.Payload = Payload{Data: payload}
	return m, true
}

// validPayload is json.Valid with a shortcut for the payload phoenix.js
// sends with an event that has none, {}, and for null.
func validPayload(p []byte) bool {
	switch string(p) {
	case "{}", "null":
		return true
	}
	return json.Valid(p)
}

// refIn returns the reference whose JSON text is head[b[0]:b[1]]: a quoted
// string, or null for an empty span.
func refIn(head string, b [2]int) Ref {
	if b[0] == b[1] {
		return Ref{}
	}
	raw := head[b[0]:b[1]]
	return Ref{raw: raw, val: raw[1 : len(raw)-1]}
}

// scanRef reads null or a plain string at data[i], returning the bounds
// of its JSON text (an empty span for null) and the index after it; data
// ends with ']', so the index is always in range.
func scanRef(data []byte, i int) ([2]int, int, bool) {
	if i+4 < len(data) && string(data[i:i+4]) == "null" {
		return [2]int{i, i}, i + 4, true
	}
	_, j, ok := scanString(data, i)
	if !ok {
		return [2]int{}, 0, false
	}
	return [2]int{i, j}, j, true
}

// scanString reads a JSON string without escapes or control characters at
// data[i], returning the bounds of its contents and the index after its
// closing quote, which is below len(data) (data ends with ']').
func scanString(data []byte, i int) ([2]int, int, bool) {
	if i >= len(data) || data[i] != '"' {
		return [2]int{}, 0, false
	}
	for j := i + 1; j < len(data)-1; j++ {
		switch c := data[j]; {
		case c == '"':
			return [2]int{i + 1, j}, j + 1, true
		case c == '\\' || c < 0x20:
			return [2]int{}, 0, false
		}
	}
	return [2]int{}, 0, false
}

// highBits has the high bit of every byte of a word set.
const highBits = 0x8080808080808080

// validText is utf8.Valid, eight bytes at a time while they are ASCII.
func validText(b []byte) bool {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&highBits != 0 {
			return utf8.Valid(b[i:])
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= utf8.RuneSelf {
			return utf8.Valid(b[i:])
		}
	}
	return true
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func decodeRef(raw json.RawMessage) (Ref, error) {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return Ref{}, nil
	}
	s, err := decodeString(raw)
	if err != nil {
		return Ref{}, err
	}
	return Ref{raw: string(raw), val: s}, nil
}

func decodeString(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return "", errors.New("not a string")
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", errors.New("not a string")
	}
	return s, nil
}

// decodeBinaryPush parses a client binary push (kind 0):
// [0][len join_ref][len ref][len topic][len event] join_ref ref topic event payload.
func decodeBinaryPush(data []byte) (Message, error) {
	if len(data) < 5 {
		return Message{}, malformed("binary frame of %d bytes", len(data))
	}
	if data[0] != 0 {
		return Message{}, malformed("binary frame kind %d, want 0 (push)", data[0])
	}
	jl, rl, tl, el := int(data[1]), int(data[2]), int(data[3]), int(data[4])
	if 5+jl+rl+tl+el > len(data) {
		return Message{}, malformed("binary header lengths exceed the frame")
	}
	// each part on its own: a character must not straddle two of them
	for p, i := 5, 1; i <= 4; i++ {
		n := int(data[i])
		if !utf8.Valid(data[p : p+n]) {
			return Message{}, errInvalidUTF8()
		}
		p += n
	}
	p := 5
	next := func(n int) string { s := string(data[p : p+n]); p += n; return s }
	var m Message
	if jr := next(jl); jr != "" {
		m.JoinRef = NewRef(jr)
	}
	if r := next(rl); r != "" {
		m.Ref = NewRef(r)
	}
	m.Topic = next(tl)
	m.Event = next(el)
	m.Payload = Payload{Data: data[p:], Binary: true}
	return m, nil
}

func (v2) Encode(m *Outgoing) (Frame, error) {
	if m.Binary {
		return encodeBinary(m)
	}
	b := make([]byte, 0, v2Size(m))
	b = append(b, '[')
	if m.Kind == KindBroadcast {
		b = append(b, "null,null,"...)
	} else {
		b = m.JoinRef.appendJSON(b)
		b = append(b, ',')
		b = m.Ref.appendJSON(b)
		b = append(b, ',')
	}
	b = appendJSONString(b, m.Topic)
	b = append(b, ',')
	if m.Kind == KindReply {
		b = append(b, `"phx_reply",{"status":`...)
		b = appendJSONString(b, m.Status)
		b = append(b, `,"response":`...)
		b = append(b, m.Payload...)
		b = append(b, "}]"...)
	} else {
		b = appendJSONString(b, m.Event)
		b = append(b, ',')
		b = append(b, m.Payload...)
		b = append(b, ']')
	}
	return Frame{Data: b}, nil
}

// v2Size is the length of m's v2 frame when its topic, event and status
// need no escaping: the frame is allocated at its size (a size class
// smaller than a fixed allowance for a small push, fewer bytes for the GC
// per event), and grows only for a string with escapes.
func v2Size(m *Outgoing) int {
	const (
		syntax = len(`[,,"","",]`)
		reply  = len(`"phx_reply",{"status":"","response":}`) - len(`"",`) // the event's quotes and comma are in syntax
	)
	n := syntax + len(m.Topic) + len(m.Payload)
	if m.Kind == KindBroadcast {
		n += len("nullnull")
	} else {
		n += m.JoinRef.jsonLen() + m.Ref.jsonLen()
	}
	if m.Kind == KindReply {
		return n + reply + len(m.Status)
	}
	return n + len(m.Event)
}

func encodeBinary(m *Outgoing) (Frame, error) {
	check := func(name, s string) error {
		if len(s) > 255 {
			return fmt.Errorf("phx: binary %s is %d bytes, the limit is 255", name, len(s))
		}
		return nil
	}
	jr, ref := m.JoinRef.val, m.Ref.val
	for _, f := range [][2]string{{"join_ref", jr}, {"ref", ref}, {"topic", m.Topic}, {"event", m.Event}, {"status", m.Status}} {
		if err := check(f[0], f[1]); err != nil {
			return Frame{}, err
		}
	}
	var b []byte
	switch m.Kind {
	case KindPush:
		b = make([]byte, 0, 4+len(jr)+len(m.Topic)+len(m.Event)+len(m.Payload))
		b = append(b, 0, byte(len(jr)), byte(len(m.Topic)), byte(len(m.Event)))
		b = append(b, jr...)
		b = append(b, m.Topic...)
		b = append(b, m.Event...)
	case KindReply:
		b = make([]byte, 0, 5+len(jr)+len(ref)+len(m.Topic)+len(m.Status)+len(m.Payload))
		b = append(b, 1, byte(len(jr)), byte(len(ref)), byte(len(m.Topic)), byte(len(m.Status)))
		b = append(b, jr...)
		b = append(b, ref...)
		b = append(b, m.Topic...)
		b = append(b, m.Status...)
	case KindBroadcast:
		b = make([]byte, 0, 3+len(m.Topic)+len(m.Event)+len(m.Payload))
		b = append(b, 2, byte(len(m.Topic)), byte(len(m.Event)))
		b = append(b, m.Topic...)
		b = append(b, m.Event...)
	}
	b = append(b, m.Payload...)
	return Frame{Data: b, Binary: true}, nil
}

type v1 struct{}

func (v1) Version() string { return "1.0.0" }

func (v1) Decode(data []byte, binary bool) (Message, error) {
	if binary {
		return Message{}, malformed("binary frames need vsn 2.0.0")
	}
	if !utf8.Valid(data) {
		return Message{}, errInvalidUTF8()
	}
	var obj struct {
		Topic   json.RawMessage `json:"topic"`
		Event   json.RawMessage `json:"event"`
		Payload json.RawMessage `json:"payload"`
		Ref     json.RawMessage `json:"ref"`
		JoinRef json.RawMessage `json:"join_ref"`
	}
	if err := json.Unmarshal(data, &obj); err != nil {
		return Message{}, malformed("not a JSON object")
	}
	var m Message
	var err error
	if m.Topic, err = decodeString(obj.Topic); err != nil {
		return Message{}, malformed("topic: %v", err)
	}
	if m.Event, err = decodeString(obj.Event); err != nil {
		return Message{}, malformed("event: %v", err)
	}
	if len(obj.Ref) > 0 {
		if m.Ref, err = decodeRef(obj.Ref); err != nil {
			return Message{}, malformed("ref: %v", err)
		}
	}
	if len(obj.JoinRef) > 0 {
		if m.JoinRef, err = decodeRef(obj.JoinRef); err != nil {
			return Message{}, malformed("join_ref: %v", err)
		}
	}
	m.Payload = Payload{Data: obj.Payload}
	return m, nil
}

func (v1) Encode(m *Outgoing) (Frame, error) {
	if m.Binary {
		return Frame{}, ErrBinaryUnsupported
	}
	b := make([]byte, 0, 64+len(m.Topic)+len(m.Event)+len(m.Payload))
	b = append(b, `{"topic":`...)
	b = appendJSONString(b, m.Topic)
	b = append(b, `,"event":`...)
	if m.Kind == KindReply {
		b = append(b, `"phx_reply","payload":{"status":`...)
		b = appendJSONString(b, m.Status)
		b = append(b, `,"response":`...)
		b = append(b, m.Payload...)
		b = append(b, '}')
	} else {
		b = appendJSONString(b, m.Event)
		b = append(b, `,"payload":`...)
		b = append(b, m.Payload...)
	}
	b = append(b, `,"ref":`...)
	if m.Kind == KindBroadcast {
		b = append(b, "null"...)
	} else {
		b = m.Ref.appendJSON(b)
	}
	return Frame{Data: append(b, '}')}, nil
}
