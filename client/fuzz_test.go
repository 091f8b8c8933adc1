package client

import (
	"bytes"
	"testing"
)

// FuzzDecodeText checks that text frames never panic the decoder and that
// whatever decodes survives an encode/decode round trip unchanged.
func FuzzDecodeText(f *testing.F) {
	f.Add([]byte(`["3","3","room:42","phx_reply",{"status":"ok","response":{}}]`))
	f.Add([]byte(`[null,null,"t","e",null]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range []codec{codecV2, codecV1} {
			fr, err := c.decode(data, false)
			if err != nil {
				continue
			}
			if c == codecV2 {
				roundTrip(t, c, fr)
			}
		}
	})
}

// FuzzDecodeBinary does the same for binary frames (kinds 0, 1, 2).
func FuzzDecodeBinary(f *testing.F) {
	f.Add([]byte("\x00\x02\x03\x0212topev\x01"))
	f.Add([]byte("\x01\x01\x01\x01\x02" + "12tok" + "payload"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := codecV2.decode(data, true)
		if err != nil {
			return
		}
		// Re-encode as the server would and decode again.
		var enc []byte
		switch data[0] {
		case kindPush:
			enc = append([]byte{0, byte(len(fr.joinRef)), byte(len(fr.topic)), byte(len(fr.event))}, fr.joinRef+fr.topic+fr.event...)
		case kindReply:
			enc = append([]byte{1, byte(len(fr.joinRef)), byte(len(fr.ref)), byte(len(fr.topic)), byte(len(fr.status))}, fr.joinRef+fr.ref+fr.topic+fr.status...)
		case kindBroadcast:
			enc = append([]byte{2, byte(len(fr.topic)), byte(len(fr.event))}, fr.topic+fr.event...)
		}
		enc = append(enc, fr.payload...)
		if !bytes.Equal(enc, data) {
			t.Fatalf("re-encoded % x, want % x", enc, data)
		}
	})
}

func roundTrip(t *testing.T, c codec, fr *frame) {
	t.Helper()
	enc, _, err := c.encode(fr)
	if err != nil {
		t.Fatalf("encode %+v: %v", fr, err)
	}
	again, err := c.decode(enc, false)
	if err != nil {
		t.Fatalf("decode of re-encoded %q: %v", enc, err)
	}
	if again.joinRef != fr.joinRef || again.ref != fr.ref || again.topic != fr.topic || again.event != fr.event {
		t.Fatalf("round trip changed frame: %+v → %q → %+v", fr, enc, again)
	}
}
