package phx_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/seance-go/seance/phx"
)

func TestSerializerFor(t *testing.T) {
	tests := []struct {
		vsn     string
		ok      bool
		version string
	}{
		{"2.0.0", true, "2.0.0"},
		{"2.0.5", true, "2.0.0"},
		{"2.0.0-rc.1", true, "2.0.0"},
		{"1.0.0", true, "1.0.0"},
		{"1.0.3", true, "1.0.0"},
		{"", true, "1.0.0"}, // missing vsn is 1.0.0, as Phoenix
		{"2.1.0", false, ""},
		{"1.1.0", false, ""},
		{"3.0.0", false, ""},
		{"0.0.1", false, ""},
		{"2", false, ""},
		{"2.0", false, ""},
		{"v2.0.0", false, ""},
		{"2.0.x", false, ""},
		{"garbage", false, ""},
		{"2.0.0.0", false, ""},
		{"-1.0.0", false, ""},
	}
	for _, tt := range tests {
		s, ok := phx.SerializerFor(tt.vsn)
		if ok != tt.ok {
			t.Errorf("SerializerFor(%q) ok = %v, want %v", tt.vsn, ok, tt.ok)
			continue
		}
		if ok && s.Version() != tt.version {
			t.Errorf("SerializerFor(%q) = %s, want %s", tt.vsn, s.Version(), tt.version)
		}
		if !ok && s != nil {
			t.Errorf("SerializerFor(%q) returned a serializer with ok=false", tt.vsn)
		}
	}
}

func TestV2Decode(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   phx.Message
		binary bool
	}{
		{
			name: "join",
			in:   `["3","3","room:42","phx_join",{"nick":"ann"}]`,
			want: phx.Message{JoinRef: phx.NewRef("3"), Ref: phx.NewRef("3"), Topic: "room:42", Event: "phx_join", Payload: phx.Payload{Data: []byte(`{"nick":"ann"}`)}},
		},
		{
			name: "heartbeat with null join_ref",
			in:   `[null,"5","phoenix","heartbeat",{}]`,
			want: phx.Message{Ref: phx.NewRef("5"), Topic: "phoenix", Event: "heartbeat", Payload: phx.Payload{Data: []byte(`{}`)}},
		},
		{
			name: "escaped strings, extra elements ignored, whitespace",
			in:   ` [ "1" , "2" , "r\u00e9" , "a\"b" , [1,2] , "extra" ] `,
			want: phx.Message{JoinRef: phx.NewRef("1"), Ref: phx.NewRef("2"), Topic: "ré", Event: `a"b`, Payload: phx.Payload{Data: []byte(`[1,2]`)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := phx.V2JSON().Decode([]byte(tt.in), false)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b phx.Ref) bool { return a.String() == b.String() && a.IsNull() == b.IsNull() })); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

func TestV2DecodeBinary(t *testing.T) {
	// the example of serializer_test.js: join_ref "10", ref "1", topic "top",
	// event "ev", payload 0x01
	in := []byte{0x00, 0x02, 0x01, 0x03, 0x02, '1', '0', '1', 't', 'o', 'p', 'e', 'v', 0x01}
	m, err := phx.V2JSON().Decode(in, true)
	if err != nil {
		t.Fatal(err)
	}
	got := []any{m.JoinRef.String(), m.Ref.String(), m.Topic, m.Event, string(m.Payload.Data), m.Payload.Binary}
	want := []any{"10", "1", "top", "ev", "\x01", true}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	// non-ASCII topics count UTF-8 bytes
	m, err = phx.V2JSON().Decode(binaryPush("", "", "été", "é", nil), true)
	if err != nil || m.Topic != "été" || m.Event != "é" || !m.JoinRef.IsNull() || len(m.Payload.Data) != 0 {
		t.Errorf("non-ASCII binary decode = %+v, %v", m, err)
	}
	// a binary payload is arbitrary bytes: only the text parts are UTF-8
	m, err = phx.V2JSON().Decode(binaryPush("1", "2", "room:1", "up", []byte{0xff, 0xfe, 0xc0}), true)
	if err != nil || string(m.Payload.Data) != "\xff\xfe\xc0" {
		t.Errorf("binary payload of invalid UTF-8 = %+v, %v; want it accepted", m, err)
	}
}

// TestV2EncodeBinary checks the three server layouts byte by byte.
func TestV2EncodeBinary(t *testing.T) {
	tests := []struct {
		name string
		out  phx.Outgoing
		want []byte
	}{
		{
			name: "push kind 0 has no ref",
			out:  phx.Outgoing{Kind: phx.KindPush, JoinRef: phx.NewRef("12"), Ref: phx.NewRef("9"), Topic: "top", Event: "ev", Payload: []byte{1}, Binary: true},
			want: []byte{0, 2, 3, 2, '1', '2', 't', 'o', 'p', 'e', 'v', 1},
		},
		{
			name: "reply kind 1",
			out:  phx.Outgoing{Kind: phx.KindReply, JoinRef: phx.NewRef("1"), Ref: phx.NewRef("23"), Topic: "t", Status: "ok", Payload: []byte{7, 8}, Binary: true},
			want: []byte{1, 1, 2, 1, 2, '1', '2', '3', 't', 'o', 'k', 7, 8},
		},
		{
			name: "broadcast kind 2",
			out:  phx.Outgoing{Kind: phx.KindBroadcast, Topic: "é", Event: "x", Payload: []byte{0}, Binary: true},
			want: []byte{2, 2, 1, 0xc3, 0xa9, 'x', 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := phx.V2JSON().Encode(&tt.out)
			if err != nil {
				t.Fatal(err)
			}
			if !f.Binary {
				t.Error("frame not marked binary")
			}
			if d := cmp.Diff(tt.want, f.Data); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
	long := make([]byte, 256)
	for i := range long {
		long[i] = 'a'
	}
	if _, err := phx.V2JSON().Encode(&phx.Outgoing{Kind: phx.KindPush, Topic: string(long), Event: "e", Binary: true}); err == nil {
		t.Error("a 256-byte topic was encoded in a binary frame")
	}
}

// TestRefsEchoedByteForByte: refs and join_refs come back exactly as the
// client spelled them, escapes included.
func TestRefsEchoedByteForByte(t *testing.T) {
	ep, _ := newEndpoint(t, phx.Config{})
	c := open(t, ep)
	c.send(`["\u0031","a\u0062","room:1","phx_join",{}]`)
	if got, want := string(c.nextFrame().Data), `["\u0031","a\u0062","room:1","phx_reply",{"status":"ok","response":{}}]`; got != want {
		t.Errorf("join reply\n got %s\nwant %s", got, want)
	}
	// the channel's join_ref is "1" whatever its spelling
	c.send(`["1","0099","room:1","echo",{"k":"v"}]`)
	if got, want := string(c.nextFrame().Data), `["\u0031","0099","room:1","phx_reply",{"status":"ok","response":{"k":"v"}}]`; got != want {
		t.Errorf("reply\n got %s\nwant %s", got, want)
	}
	c.send(`[null,"x\/y","phoenix","heartbeat",{}]`)
	if got, want := string(c.nextFrame().Data), `[null,"x\/y","phoenix","phx_reply",{"status":"ok","response":{}}]`; got != want {
		t.Errorf("heartbeat reply\n got %s\nwant %s", got, want)
	}
	// payloads are echoed as sent too (no re-encoding)
	c.send(`["1","3","room:1","echo",{"b":1,  "a":"\u00e9"}]`)
	if got, want := string(c.nextFrame().Data), `["\u0031","3","room:1","phx_reply",{"status":"ok","response":{"b":1,  "a":"\u00e9"}}]`; got != want {
		t.Errorf("echo\n got %s\nwant %s", got, want)
	}
}

// TestV1RoundTrip drives a session with the legacy object format.
func TestV1RoundTrip(t *testing.T) {
	ep, rec := newEndpoint(t, phx.Config{})
	c := openWith(t, ep, phx.V1JSON(), false)
	steps := []struct {
		in  string
		out []string
	}{
		{`{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"1"}`,
			[]string{`{"topic":"phoenix","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":"1"}`}},
		{`{"topic":"room:1","event":"phx_join","payload":{},"ref":"2"}`,
			[]string{`{"topic":"room:1","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":"2"}`}},
		{`{"topic":"room:1","event":"echo","payload":{"a":1},"ref":"3","join_ref":"2"}`,
			[]string{`{"topic":"room:1","event":"phx_reply","payload":{"status":"ok","response":{"a":1}},"ref":"3"}`}},
		{`{"topic":"room:1","event":"push","payload":{"p":true},"ref":"4"}`,
			[]string{`{"topic":"room:1","event":"pushed","payload":{"p":true},"ref":null}`}},
		{`{"topic":"room:1","event":"broadcast","payload":{"b":2},"ref":"5"}`,
			[]string{
				`{"topic":"room:1","event":"shout","payload":{"b":2},"ref":null}`,
				`{"topic":"room:1","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":"5"}`,
			}},
		{`{"topic":"room:1","event":"binary","payload":{},"ref":"6"}`,
			[]string{`{"topic":"room:1","event":"phx_reply","payload":{"status":"error","response":{"push":"` + phx.ErrBinaryUnsupported.Error() + `"}},"ref":"6"}`}},
		{`{"topic":"nope","event":"phx_join","payload":{},"ref":"7"}`,
			[]string{`{"topic":"nope","event":"phx_reply","payload":{"status":"error","response":{"reason":"unmatched topic"}},"ref":"7"}`}},
		{`{"topic":"room:1","event":"phx_leave","payload":{},"ref":"8"}`,
			[]string{
				`{"topic":"room:1","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":"8"}`,
				`{"topic":"room:1","event":"phx_close","payload":{},"ref":"2"}`,
			}},
	}
	for _, st := range steps {
		c.send(st.in)
		c.expect(st.out...)
	}
	rec.expectReason(t, "room:1", "2", phx.ErrLeft)
	if err := c.Sess.Receive([]byte{0, 0, 0, 0, 0}, true); !isClose(err, phx.CloseInvalidData) {
		t.Errorf("binary frame on v1: %v, want close 1007", err)
	}
}

func isClose(err error, code int) bool {
	var ce *phx.CloseError
	return errors.As(err, &ce) && ce.Code == code
}

// TestMalformedFrames: every malformed frame is refused with close 1007,
// nothing is answered, and the session keeps its channels.
func TestMalformedFrames(t *testing.T) {
	tests := []struct {
		name   string
		ser    phx.Serializer
		data   string
		binary bool
	}{
		{"bad JSON", phx.V2JSON(), `["1","1","room:1","phx_join",{]`, false},
		{"empty", phx.V2JSON(), ``, false},
		{"null", phx.V2JSON(), `null`, false},
		{"not an array", phx.V2JSON(), `{"topic":"room:1"}`, false},
		{"a string", phx.V2JSON(), `"hello"`, false},
		{"4 elements", phx.V2JSON(), `["1","1","room:1","phx_join"]`, false},
		{"empty array", phx.V2JSON(), `[]`, false},
		{"numeric topic", phx.V2JSON(), `["1","1",42,"phx_join",{}]`, false},
		{"null topic", phx.V2JSON(), `["1","1",null,"phx_join",{}]`, false},
		{"numeric event", phx.V2JSON(), `["1","1","room:1",7,{}]`, false},
		{"object ref", phx.V2JSON(), `["1",{"r":1},"room:1","phx_join",{}]`, false},
		{"numeric join_ref", phx.V2JSON(), `[1,"1","room:1","phx_join",{}]`, false},
		{"array ref", phx.V2JSON(), `["1",["1"],"room:1","echo",{}]`, false},
		{"trailing garbage", phx.V2JSON(), `["1","1","room:1","echo",{}] x`, false},
		{"truncated binary header", phx.V2JSON(), "\x00\x01\x01", true},
		{"empty binary", phx.V2JSON(), "", true},
		{"binary lengths past the end", phx.V2JSON(), "\x00\x01\x01\x06\x05" + "11room:1echo", true},
		{"wrong binary kind 1", phx.V2JSON(), "\x01\x01\x01\x06\x02" + "11room:1ok", true},
		{"wrong binary kind 2", phx.V2JSON(), "\x02\x06\x04" + "room:1echo", true},
		{"wrong binary kind 255", phx.V2JSON(), "\xff\x00\x00\x00\x00", true},
		{"v1 not an object", phx.V1JSON(), `["1","1","room:1","echo",{}]`, false},
		{"v1 missing topic", phx.V1JSON(), `{"event":"echo","payload":{},"ref":"1"}`, false},
		{"v1 object ref", phx.V1JSON(), `{"topic":"room:1","event":"echo","payload":{},"ref":{}}`, false},
		{"v1 null", phx.V1JSON(), `null`, false},
		// Invalid UTF-8 anywhere in a text frame, or in a binary frame's
		// text parts, closes the connection (RFC 6455: 1007).
		{"invalid UTF-8 in the payload", phx.V2JSON(), "[\"1\",\"2\",\"room:1\",\"echo\",{\"body\":\"hi \xff\xfe\"}]", false},
		{"invalid UTF-8 in a ref", phx.V2JSON(), "[\"1\",\"\xc3\",\"room:1\",\"echo\",{}]", false},
		{"invalid UTF-8 in a heartbeat ref", phx.V2JSON(), "[null,\"\xed\xa0\x80\",\"phoenix\",\"heartbeat\",{}]", false},
		{"invalid UTF-8 in the topic", phx.V2JSON(), "[\"1\",\"1\",\"room:\xff\",\"phx_join\",{}]", false},
		{"overlong UTF-8 in the event", phx.V2JSON(), "[\"1\",\"1\",\"room:1\",\"ec\xc0\xafho\",{}]", false},
		{"invalid UTF-8 with whitespace (general path)", phx.V2JSON(), "[ \"1\", \"1\", \"room:1\", \"echo\", {\"a\":\"\xff\"} ]", false},
		{"v1 invalid UTF-8", phx.V1JSON(), "{\"topic\":\"room:1\",\"event\":\"echo\",\"payload\":{\"a\":\"\xfe\"},\"ref\":\"1\"}", false},
		{"binary invalid UTF-8 ref", phx.V2JSON(), "\x00\x01\x01\x06\x04" + "1\xff" + "room:1echo", true},
		{"binary invalid UTF-8 topic", phx.V2JSON(), "\x00\x01\x01\x06\x04" + "11" + "room:\xff" + "echo", true},
		{"binary invalid UTF-8 event", phx.V2JSON(), "\x00\x01\x01\x06\x04" + "11" + "room:1" + "ec\x80o", true},
		{"binary character straddling topic and event", phx.V2JSON(), "\x00\x01\x01\x06\x01" + "00" + "0000\xe9\x94" + "\x99", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, _ := newEndpoint(t, phx.Config{})
			c := openWith(t, ep, tt.ser, true)
			err := c.Sess.Receive([]byte(tt.data), tt.binary)
			var ce *phx.CloseError
			if !errors.As(err, &ce) || ce.Code != phx.CloseInvalidData {
				t.Fatalf("Receive = %v, want a *CloseError with code 1007", err)
			}
			if n := c.Sess.Pending(); n != 0 {
				t.Errorf("%d frames answered a malformed frame", n)
			}
		})
	}
}

// TestV2EncodeSize: a v2 frame is allocated at its length when nothing in
// it needs escaping, for pushes, replies and broadcasts, with null and
// string refs; a topic with escapes still encodes whole.
func TestV2EncodeSize(t *testing.T) {
	payload := []byte(`{"patch":[{"op":"replace","path":"/count","value":7}],"version":7}`)
	for _, tt := range []struct {
		name  string
		m     phx.Outgoing
		exact bool
	}{
		{"push", phx.Outgoing{Kind: phx.KindPush, JoinRef: phx.NewRef("3"), Topic: "counter:rt", Event: "state:patch", Payload: payload}, true},
		{"push, null refs", phx.Outgoing{Kind: phx.KindPush, Topic: "counter:rt", Event: "state:patch", Payload: payload}, true},
		{"reply", phx.Outgoing{Kind: phx.KindReply, JoinRef: phx.NewRef("3"), Ref: phx.NewRef("12"), Topic: "room:1", Status: "ok", Payload: []byte(`{}`)}, true},
		{"broadcast", phx.Outgoing{Kind: phx.KindBroadcast, JoinRef: phx.NewRef("3"), Topic: "room:1", Event: "tick", Payload: payload}, true},
		{"escaped topic", phx.Outgoing{Kind: phx.KindPush, JoinRef: phx.NewRef("3"), Topic: "room:\"x\"\n", Event: "tick", Payload: payload}, false},
	} {
		f, err := phx.V2JSON().Encode(&tt.m)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		m, err := phx.V2JSON().Decode(f.Data, false)
		if err != nil || m.Topic != tt.m.Topic {
			t.Errorf("%s: %s does not decode back (%v)", tt.name, f.Data, err)
		}
		if tt.exact && cap(f.Data) != len(f.Data) {
			t.Errorf("%s: %s: cap %d, len %d", tt.name, f.Data, cap(f.Data), len(f.Data))
		}
	}
}
