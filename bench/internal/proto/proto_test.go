package proto

import (
	"encoding/json"
	"testing"
)

// TestEventOf: the byte scan agrees with decoding the frame, and frames it
// cannot scan still give their event through Parse.
func TestEventOf(t *testing.T) {
	for _, c := range []struct{ frame, want string }{
		{`[null,null,"counter:1","state:patch",{"patch":[],"version":2}]`, "state:patch"},
		{`["1","7","counter:1","phx_reply",{"status":"ok","response":{}}]`, "phx_reply"},
		{`["1",null,"room:\"x\"","state:change",{}]`, "state:change"},
		{`[ "1", "2", "t", "spaced", {} ]`, "spaced"},
		{`["1","2","t","esc\u0061ped",{}]`, "escaped"},
		{`["1","2","t"]`, ""},
		{`{"event":"x"}`, ""},
		{``, ""},
		{`["1","2","t","unterminated`, ""},
	} {
		if got := EventOf([]byte(c.frame)); got != c.want {
			t.Errorf("EventOf(%s) = %q, want %q", c.frame, got, c.want)
		}
		if m, err := Parse([]byte(c.frame)); err == nil && m.Event != EventOf([]byte(c.frame)) {
			t.Errorf("EventOf(%s) = %q, Parse says %q", c.frame, EventOf([]byte(c.frame)), m.Event)
		}
	}
}

// TestCfRepliesScan: the scanned replies are what decoding gives.
func TestCfRepliesScan(t *testing.T) {
	for _, line := range []string{
		`{"id":17,"rpc":{"data":{"count":3}}}`,
		`{"id":4}`,
		`{"id":2,"error":{"code":103,"message":"permission denied"}}`,
		`{"id":3,"rpc":{"data":{"error":"in the data"}}}`,
		`{"push":{"channel":"room","pub":{"data":{}}}}`,
	} {
		got, err := CfReplies([]byte(line))
		if err != nil || len(got) != 1 {
			t.Fatalf("CfReplies(%s) = %v, %v", line, got, err)
		}
		var want CfReply
		if err := json.Unmarshal([]byte(line), &want); err != nil {
			t.Fatal(err)
		}
		if got[0].ID != want.ID || string(got[0].Error) != string(want.Error) {
			t.Errorf("CfReplies(%s) = %+v, want %+v", line, got[0], want)
		}
	}
}
