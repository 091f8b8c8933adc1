package client

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var frameCmp = cmp.AllowUnexported(frame{})

func TestEncode(t *testing.T) {
	tests := []struct {
		name   string
		codec  codec
		f      frame
		want   string
		binary bool
	}{
		{"heartbeat", codecV2, frame{ref: "1", topic: "phoenix", event: "heartbeat", payload: []byte("{}")},
			`[null,"1","phoenix","heartbeat",{}]`, false},
		{"join", codecV2, frame{joinRef: "3", ref: "3", topic: "room:42", event: "phx_join", payload: []byte(`{"nick":"ann"}`)},
			`["3","3","room:42","phx_join",{"nick":"ann"}]`, false},
		{"empty payload becomes {}", codecV2, frame{joinRef: "3", ref: "4", topic: "t", event: "e"},
			`["3","4","t","e",{}]`, false},
		{"escaped strings", codecV2, frame{joinRef: "1", ref: "2", topic: "a\"b", event: "é\n", payload: []byte(`"x"`)},
			`["1","2","a\"b","é\n","x"]`, false},
		{"v1", codecV1, frame{joinRef: "3", ref: "4", topic: "t", event: "e", payload: []byte(`{"a":1}`)},
			`{"topic":"t","event":"e","payload":{"a":1},"ref":"4","join_ref":"3"}`, false},
		{"v1 heartbeat", codecV1, frame{ref: "9", topic: "phoenix", event: "heartbeat", payload: []byte(`{}`)},
			`{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"9","join_ref":null}`, false},
		// serializer_test.js: join_ref "10", ref "1", topic "top", event "ev", payload 0x01.
		{"binary push", codecV2, frame{joinRef: "10", ref: "1", topic: "top", event: "ev", payload: []byte{1}, binary: true},
			"\x00\x02\x01\x03\x0210" + "1" + "top" + "ev" + "\x01", true},
		{"binary push, non-ASCII topic counts bytes", codecV2, frame{joinRef: "1", ref: "2", topic: "é", event: "e", payload: nil, binary: true},
			"\x00\x01\x01\x02\x01" + "12é" + "e", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, bin, err := tt.codec.encode(&tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if bin != tt.binary {
				t.Errorf("binary = %v, want %v", bin, tt.binary)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("encode mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	long := strings.Repeat("x", 256)
	if _, _, err := codecV2.encode(&frame{ref: "1", topic: long, event: "e", binary: true}); err == nil {
		t.Error("256-byte topic in a binary frame: no error")
	}
	if _, _, err := codecV2.encode(&frame{ref: "1", topic: strings.Repeat("x", 255), event: "e", binary: true}); err != nil {
		t.Errorf("255-byte topic: %v", err)
	}
	if _, _, err := codecV1.encode(&frame{ref: "1", topic: "t", event: "e", binary: true}); err == nil {
		t.Error("binary frame on v1: no error")
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name   string
		codec  codec
		in     string
		binary bool
		want   frame
	}{
		{"reply", codecV2, `["3","3","room:42","phx_reply",{"status":"ok","response":{}}]`, false,
			frame{joinRef: "3", ref: "3", topic: "room:42", event: "phx_reply", payload: []byte(`{"status":"ok","response":{}}`)}},
		{"push with null ref", codecV2, `["3",null,"room:42","joined",{"status":"connected"}]`, false,
			frame{joinRef: "3", topic: "room:42", event: "joined", payload: []byte(`{"status":"connected"}`)}},
		{"broadcast", codecV2, `[null,null,"room:42","new_msg",{"body":"hi"}]`, false,
			frame{topic: "room:42", event: "new_msg", payload: []byte(`{"body":"hi"}`)}},
		{"extra elements ignored, whitespace ok", codecV2, ` [ "1" , "2" , "t" , "e" , [1,2] , "extra" ] `, false,
			frame{joinRef: "1", ref: "2", topic: "t", event: "e", payload: []byte(`[1,2]`)}},
		{"integer refs are kept as text", codecV2, `[7,8,"t","e",null]`, false,
			frame{joinRef: "7", ref: "8", topic: "t", event: "e", payload: []byte(`null`)}},
		{"v1 reply", codecV1, `{"topic":"t","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":"5"}`, false,
			frame{ref: "5", topic: "t", event: "phx_reply", payload: []byte(`{"status":"ok","response":{}}`)}},
		{"v1 without payload", codecV1, `{"topic":"t","event":"e","ref":null}`, false,
			frame{topic: "t", event: "e", payload: []byte(`null`)}},
		{"binary push kind 0", codecV2, "\x00\x02\x03\x02" + "12" + "top" + "ev" + "\xff\x00", true,
			frame{joinRef: "12", topic: "top", event: "ev", payload: []byte{0xff, 0}, binary: true}},
		{"binary reply kind 1", codecV2, "\x01\x01\x02\x01\x02" + "1" + "23" + "t" + "ok" + "data", true,
			frame{joinRef: "1", ref: "23", topic: "t", event: "phx_reply", status: "ok", payload: []byte("data"), binary: true}},
		{"binary broadcast kind 2", codecV2, "\x02\x01\x01" + "t" + "e", true,
			frame{topic: "t", event: "e", payload: []byte{}, binary: true}},
		{"binary push with empty join_ref", codecV2, "\x00\x00\x01\x01" + "t" + "e" + "x", true,
			frame{topic: "t", event: "e", payload: []byte("x"), binary: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.codec.decode([]byte(tt.in), tt.binary)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, *got, frameCmp); diff != "" {
				t.Errorf("decode mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		codec  codec
		in     string
		binary bool
	}{
		{"not json", codecV2, `[`, false},
		{"object on v2", codecV2, `{"topic":"t"}`, false},
		{"four elements", codecV2, `["1","2","t","e"]`, false},
		{"numeric topic", codecV2, `["1","2",3,"e",{}]`, false},
		{"null event", codecV2, `["1","2","t",null,{}]`, false},
		{"object ref", codecV2, `[{},"2","t","e",{}]`, false},
		{"float ref", codecV2, `["1",2.5,"t","e",{}]`, false},
		{"v1 missing event", codecV1, `{"topic":"t","payload":{}}`, false},
		{"v1 array", codecV1, `["1","2","t","e",{}]`, false},
		{"empty binary", codecV2, "", true},
		{"unknown kind", codecV2, "\x07\x00\x00", true},
		{"short header", codecV2, "\x01\x00\x00", true},
		{"truncated field", codecV2, "\x02\x05\x01" + "ab", true},
		{"binary on v1", codecV1, "\x02\x01\x01te", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if f, err := tt.codec.decode([]byte(tt.in), tt.binary); !errors.Is(err, errFrame) {
				t.Errorf("decode(%q) = %+v, %v; want errFrame", tt.in, f, err)
			}
		})
	}
}

func TestParseReply(t *testing.T) {
	r, err := parseReply(&frame{event: "phx_reply", payload: []byte(`{"status":"error","response":{"reason":"x"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&Reply{Status: "error", Response: []byte(`{"reason":"x"}`)}, r); diff != "" {
		t.Error(diff)
	}
	var re *ReplyError
	if !errors.As(r.Err(), &re) || re.Status != "error" {
		t.Errorf("Err() = %v", r.Err())
	}
	r, err = parseReply(&frame{event: "phx_reply", payload: []byte(`{"status":"ok"}`)})
	if err != nil || string(r.Response) != "null" || r.Err() != nil {
		t.Errorf("reply without response = %+v, %v", r, err)
	}
	if _, err := parseReply(&frame{event: "phx_reply", payload: []byte(`{"response":{}}`)}); err == nil {
		t.Error("reply without status: no error")
	}
}

func TestTransportURL(t *testing.T) {
	params := map[string]any{
		"token": "abc",
		"user":  map[string]any{"id": 7, "name": "a b&c"},
		"ids":   []any{1, "x"},
		"skip":  nil,
		"ok":    true,
		"f":     1.5,
	}
	tests := []struct {
		base string
		tr   Transport
		want string
	}{
		{"wss://example.org/chat", WebSocket, "wss://example.org/chat/websocket?vsn=2.0.0"},
		{"https://example.org/chat/", WebSocket, "wss://example.org/chat/websocket?vsn=2.0.0"},
		{"ws://h/socket", LongPoll, "http://h/socket/longpoll?vsn=2.0.0"},
		{"wss://h/socket?x=1", LongPoll, "https://h/socket/longpoll?x=1&vsn=2.0.0"},
	}
	for _, tt := range tests {
		u := mustParse(t, tt.base)
		if got := transportURL(u, tt.tr, nil, "2.0.0"); got != tt.want {
			t.Errorf("transportURL(%q, %v) = %q, want %q", tt.base, tt.tr, got, tt.want)
		}
	}
	got := transportURL(mustParse(t, "ws://h/socket"), WebSocket, params, "2.0.0")
	want := "ws://h/socket/websocket?f=1.5&ids%5B0%5D=1&ids%5B1%5D=x&ok=true&token=abc&user%5Bid%5D=7&user%5Bname%5D=a%20b%26c&vsn=2.0.0"
	if got != want {
		t.Errorf("with params:\n got %s\nwant %s", got, want)
	}
	if got := encodeURIComponent("aZ09-_.!~*'() /?é"); got != "aZ09-_.!~*'()%20%2F%3F%C3%A9" {
		t.Errorf("encodeURIComponent = %q", got)
	}
}

func TestDefaultBackoff(t *testing.T) {
	var got []int64
	for i := 1; i <= 11; i++ {
		got = append(got, DefaultReconnectAfter(i).Milliseconds())
	}
	if diff := cmp.Diff([]int64{10, 50, 100, 150, 200, 250, 500, 1000, 2000, 5000, 5000}, got); diff != "" {
		t.Errorf("reconnect schedule (-want +got):\n%s", diff)
	}
	got = nil
	for i := 1; i <= 5; i++ {
		got = append(got, DefaultRejoinAfter(i).Milliseconds())
	}
	if diff := cmp.Diff([]int64{1000, 2000, 5000, 10000, 10000}, got); diff != "" {
		t.Errorf("rejoin schedule (-want +got):\n%s", diff)
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
