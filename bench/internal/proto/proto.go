// Package proto builds and inspects Phoenix v2 JSON frames on the load side.
// Both systems under comparison get the same client-side work.
package proto

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Frame renders [join_ref, ref, topic, event, payload]; an empty ref is null.
func Frame(joinRef, ref, topic, event string, payload []byte) []byte {
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	b := make([]byte, 0, 32+len(topic)+len(event)+len(payload))
	b = append(b, '[')
	b = appendRef(b, joinRef)
	b = append(b, ',')
	b = appendRef(b, ref)
	b = append(b, ',')
	b = strconv.AppendQuote(b, topic)
	b = append(b, ',')
	b = strconv.AppendQuote(b, event)
	b = append(b, ',')
	b = append(b, payload...)
	return append(b, ']')
}

func appendRef(b []byte, ref string) []byte {
	if ref == "" {
		return append(b, "null"...)
	}
	return strconv.AppendQuote(b, ref)
}

// Msg is a decoded v2 frame.
type Msg struct {
	JoinRef, Ref, Topic, Event string
	Payload                    json.RawMessage
}

// Parse decodes a v2 JSON array frame.
func Parse(data []byte) (Msg, error) {
	var parts [5]json.RawMessage
	if err := json.Unmarshal(data, &parts); err != nil {
		return Msg{}, err
	}
	var m Msg
	str := func(raw json.RawMessage) string {
		var s string
		if !bytes.Equal(raw, []byte("null")) {
			json.Unmarshal(raw, &s)
		}
		return s
	}
	m.JoinRef, m.Ref, m.Topic, m.Event = str(parts[0]), str(parts[1]), str(parts[2]), str(parts[3])
	m.Payload = parts[4]
	return m, nil
}

// EventOf returns the event of a v2 frame without decoding the payload: the
// fourth element of the array, or "" when data is not such a frame. It scans
// the bytes instead of decoding JSON, so a load client spends about the same
// few tens of nanoseconds on each system's reply; a frame it cannot read that
// way (escapes, spaces) falls back to Parse.
func EventOf(data []byte) string {
	if ev, ok := scanEvent(data); ok {
		return ev
	}
	m, err := Parse(data)
	if err != nil {
		return ""
	}
	return m.Event
}

// scanEvent reads the event of a compact v2 frame: '[', three elements that
// are null or strings without escapes, then the event string.
func scanEvent(data []byte) (string, bool) {
	if len(data) == 0 || data[0] != '[' {
		return "", false
	}
	i := 1
	for range 3 {
		switch {
		case bytes.HasPrefix(data[i:], []byte("null")):
			i += 4
		case i < len(data) && data[i] == '"':
			end, ok := plainString(data, i)
			if !ok {
				return "", false
			}
			i = end
		default:
			return "", false
		}
		if i >= len(data) || data[i] != ',' {
			return "", false
		}
		i++
	}
	if i >= len(data) || data[i] != '"' {
		return "", false
	}
	end, ok := plainString(data, i)
	if !ok || end >= len(data) || data[end] != ',' {
		return "", false
	}
	return string(data[i+1 : end-1]), true
}

// plainString returns the index just past the string starting at data[i]
// (a '"'), or false when it has an escape or no end.
func plainString(data []byte, i int) (int, bool) {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			return 0, false
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

// SeqOf extracts the integer after `"seq":` in a broadcast frame, or -1.
func SeqOf(data []byte) int {
	i := bytes.Index(data, []byte(`"seq":`))
	if i < 0 {
		return -1
	}
	n := 0
	digits := 0
	for _, c := range data[i+6:] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
		digits++
	}
	if digits == 0 {
		return -1
	}
	return n
}
