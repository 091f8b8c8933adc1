package phx

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// FuzzV2DecodeCompact: whatever the reflection-free path accepts, the
// general path accepts with the same message.
func FuzzV2DecodeCompact(f *testing.F) {
	for _, s := range []string{
		`["1","2","room:lobby","new_msg",{"body":"hi"}]`,
		`[null,"2","phoenix","heartbeat",{}]`,
		`[null,null,"t","e",[1,2]]`,
		`["1","2","t","e",{},1]`,
		`["1","2","t","e", {}]`,
		`["1","2","t","e",{}`,
		`["1\"","2","t","e",{}]`,
		`[null,nul,"t","e",{}]`,
		`["1","2","t","e",]`,
		`["1","2","t","e","\u00e9"]`,
		`["1","2","t","e",{"a":}]`,
		"[\"\xff\",\"2\",\"t\",\"e\",0]",
		"[\"1\",\"2\",\"t\x01\",\"e\",0]",
		`["12345678901","2","room:a-long-topic-name","lvs_evt:an-event-name",{}]`,
		`["1","2","room:a-long-topic\"name","e",{}]`,
		"[\"1\",\"2\",\"room:a-long-t\x1fopic\",\"e\",{}]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := decodeV2Compact(data)
		if !ok {
			return
		}
		slow, err := decodeV2General(data)
		if err != nil {
			t.Fatalf("compact path accepted %q, general path refuses: %v", data, err)
		}
		if !bytes.Equal(fast.Payload.Data, slow.Payload.Data) {
			t.Fatalf("payload %q, want %q", fast.Payload.Data, slow.Payload.Data)
		}
		fast.Payload, slow.Payload = Payload{}, Payload{}
		if d := cmp.Diff(slow, fast, cmp.AllowUnexported(Message{}, Ref{}, Payload{})); d != "" {
			t.Fatalf("decoding %q (-general +compact)\n%s", data, d)
		}
	})
}

// TestV2DecodeCompactCoversPhoenixJS checks that the frames phoenix.js
// sends take the reflection-free path.
func TestV2DecodeCompactCoversPhoenixJS(t *testing.T) {
	for _, s := range []string{
		`["3","3","counter:1","lvs_evt:increment",{}]`,
		`[null,"7","phoenix","heartbeat",{}]`,
		`["1","1","room:lobby","phx_join",{"user":"ann","n":[1,2,{"x":null}]}]`,
	} {
		m, ok := decodeV2Compact([]byte(s))
		if !ok {
			t.Errorf("%s: not decoded by the compact path", s)
			continue
		}
		want, err := decodeV2General([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		if m.Topic != want.Topic || m.Event != want.Event || m.JoinRef != want.JoinRef || m.Ref != want.Ref || string(m.Payload.Data) != string(want.Payload.Data) {
			t.Errorf("%s: compact %+v, general %+v", s, m, want)
		}
	}
}

// TestValidText: the eight-bytes-at-a-time UTF-8 check agrees with
// utf8.Valid on frames of every length with an ASCII, a multi-byte or an
// invalid byte at every position.
func TestValidText(t *testing.T) {
	for n := range 40 {
		for pos := range n {
			for _, c := range [][]byte{{'a'}, {0x7f}, {0x80}, {0xff}, []byte("é"), []byte("\u2028"), {0xe2, 0x82}} {
				data := bytes.Repeat([]byte{'x'}, n)
				data = append(data[:pos], append(append([]byte{}, c...), data[pos:]...)...)
				if got, want := validText(data), utf8.Valid(data); got != want {
					t.Fatalf("validText(%q) = %v, utf8.Valid %v", data, got, want)
				}
			}
		}
	}
}
