package proto

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// The centrifuge client protocol (v2, JSON over WebSocket) as the load
// speaks it to the peer: commands are JSON objects with an id; the server
// answers with objects carrying the same id, and may put several replies
// or pushes in one frame, one per line.

// CfPath is where the peer serves its WebSocket transport.
const CfPath = "/connection/websocket"

// CfConnect is the connect command (no token: the peer allows anyone).
func CfConnect(id int) []byte {
	return CfCommand(id, "connect", []byte(`{"name":"seance-bench"}`))
}

// CfCommand renders {"id":id,"<method>":<params>}.
func CfCommand(id int, method string, params []byte) []byte {
	b := make([]byte, 0, 32+len(method)+len(params))
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, int64(id), 10)
	b = append(b, ',')
	b = strconv.AppendQuote(b, method)
	b = append(b, ':')
	b = append(b, params...)
	return append(b, '}')
}

// CfSubscribe is the subscribe command for channel.
func CfSubscribe(id int, channel string) []byte {
	return CfCommand(id, "subscribe", append(strconv.AppendQuote([]byte(`{"channel":`), channel), '}'))
}

// CfRPC is the RPC command of row 1's round trip.
func CfRPC(id int) []byte { return CfCommand(id, "rpc", []byte(`{"method":"increment"}`)) }

// CfReply is one reply of a frame: its id (0 for a push or a ping) and,
// when the server refused the command, its error.
type CfReply struct {
	ID    int             `json:"id"`
	Error json.RawMessage `json:"error,omitempty"`
}

// CfReplies decodes the replies of one server frame (one per line).
func CfReplies(data []byte) ([]CfReply, error) {
	var out []CfReply
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if r, ok := scanCfReply(line); ok {
			out = append(out, r)
			continue
		}
		var r CfReply
		if err := json.Unmarshal(line, &r); err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// scanCfReply reads the common reply without decoding JSON: a line that
// starts {"id":N, and names no error (centrifuge writes the id first). Any
// other line is decoded by CfReplies, so the load client does about the same
// work per reply as for the other systems (see EventOf).
func scanCfReply(line []byte) (CfReply, bool) {
	rest, ok := bytes.CutPrefix(line, []byte(`{"id":`))
	if !ok || bytes.Contains(rest, []byte(`"error"`)) {
		return CfReply{}, false
	}
	id, digits := 0, 0
	for _, c := range rest {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + int(c-'0')
		digits++
	}
	if digits == 0 || digits == len(rest) || rest[digits] != ',' && rest[digits] != '}' {
		return CfReply{}, false
	}
	return CfReply{ID: id}, true
}
