package phx_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/seance-go/seance/phx"
)

func BenchmarkV2DecodeText(b *testing.B) {
	frame := []byte(`["3","4","room:42","new_msg",{"body":"hello there","user":{"id":7,"name":"ann"}}]`)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for i := 0; i < b.N; i++ {
		if _, err := phx.V2JSON().Decode(frame, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkV2DecodeEmptyPayload decodes a client event without payload,
// as phoenix.js sends it (a LiveState event such as lvs_evt:increment).
func BenchmarkV2DecodeEmptyPayload(b *testing.B) {
	frame := []byte(`["3","4","counter:42","lvs_evt:increment",{}]`)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, err := phx.V2JSON().Decode(frame, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkV2DecodeTextLarge decodes a 4 KiB ASCII frame and one of the
// same size full of multi-byte characters (UTF-8 validation's two paths).
func BenchmarkV2DecodeTextLarge(b *testing.B) {
	for _, tc := range []struct{ name, unit string }{{"ascii", "abcd"}, {"utf8", "né€😀"}} {
		body := strings.Repeat(tc.unit, 4096/len(tc.unit))
		frame := []byte(`["3","4","room:42","new_msg",{"body":"` + body + `"}]`)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for i := 0; i < b.N; i++ {
				if _, err := phx.V2JSON().Decode(frame, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkV2DecodeBinary(b *testing.B) {
	frame := binaryPush("3", "4", "room:42", "upload", make([]byte, 1024))
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for i := 0; i < b.N; i++ {
		if _, err := phx.V2JSON().Decode(frame, true); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkV2EncodeReply(b *testing.B) {
	out := &phx.Outgoing{Kind: phx.KindReply, JoinRef: phx.NewRef("3"), Ref: phx.NewRef("4"), Topic: "room:42",
		Status: "ok", Payload: []byte(`{"body":"hello there","user":{"id":7,"name":"ann"}}`)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := phx.V2JSON().Encode(out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkV2EncodePush(b *testing.B) {
	out := &phx.Outgoing{Kind: phx.KindPush, JoinRef: phx.NewRef("3"), Topic: "room:42", Event: "new_msg",
		Payload: []byte(`{"body":"hello there","user":{"id":7,"name":"ann"}}`)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := phx.V2JSON().Encode(out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBroadcast2000 publishes one event to 2,000 subscribed sessions
// and drains every session's queue (as the transports' writers would).
func BenchmarkBroadcast2000(b *testing.B) {
	const subscribers = 2000
	ep, _ := newEndpoint(b, phx.Config{})
	sessions := make([]*phx.Session, subscribers)
	for i := range sessions {
		c := open(b, ep)
		c.send(`["1","1","room:lobby","phx_join",{}]`)
		c.next()
		sessions[i] = c.Sess
	}
	ctx := context.Background()
	payload := map[string]string{"body": "hello everyone"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n, err := ep.Broadcast(context.Background(), "room:lobby", "new_msg", payload)
		if err != nil || n != subscribers {
			b.Fatalf("Broadcast = %d, %v", n, err)
		}
		for _, s := range sessions {
			if _, err := s.Next(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkJoin opens a session, joins a channel, reads the reply and
// closes the session.
func BenchmarkJoin(b *testing.B) {
	ep, _ := newEndpoint(b, phx.Config{})
	join := []byte(`["1","1","room:1","phx_join",{"user":"ann"}]`)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s, err := ep.Open(phx.ConnectInfo{Transport: "bench"}, phx.V2JSON(), true)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Receive(join, false); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Next(ctx); err != nil {
			b.Fatal(err)
		}
		s.Detach()
	}
}

// BenchmarkRoundTrip is one client push answered by its channel, through
// the session (decode, dispatch on the channel's goroutine, encode).
func BenchmarkRoundTrip(b *testing.B) {
	ep, _ := newEndpoint(b, phx.Config{})
	c := open(b, ep)
	c.send(`["1","1","room:1","phx_join",{}]`)
	c.next()
	ctx := context.Background()
	frames := make([][]byte, 64)
	for i := range frames {
		frames[i] = []byte(fmt.Sprintf(`["1","%d","room:1","echo",{"n":%d}]`, i, i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.Sess.Receive(frames[i%len(frames)], false); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Sess.Next(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
