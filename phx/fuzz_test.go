package phx_test

// Seed corpora live in testdata/fuzz/<FuzzName>/. Run a target with e.g.
//
//	go test -run x -fuzz FuzzV2Decode -fuzztime 30s ./phx/

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/seance-go/seance/phx"
)

// checkDecodeErr fails unless err is nil or a close error with code 1007.
func checkDecodeErr(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var ce *phx.CloseError
	if !errors.As(err, &ce) || ce.Code != phx.CloseInvalidData {
		t.Fatalf("decode error %T %v, want *phx.CloseError 1007", err, err)
	}
}

// FuzzV2Decode: text frames never panic; accepted frames are JSON arrays
// whose refs come back byte for byte in a reply that is valid JSON.
func FuzzV2Decode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := phx.V2JSON().Decode(data, false)
		checkDecodeErr(t, err)
		if err != nil {
			return
		}
		if !utf8.Valid(data) {
			t.Fatalf("accepted %q which is not valid UTF-8", data)
		}
		var in []any
		if err := json.Unmarshal(data, &in); err != nil || len(in) < 5 {
			t.Fatalf("accepted %q which is not a JSON array of 5+ elements", data)
		}
		if m.Payload.Binary {
			t.Fatal("text payload marked binary")
		}
		if !json.Valid(m.Payload.Data) {
			t.Fatalf("payload %q is not JSON", m.Payload.Data)
		}
		for _, kind := range []phx.Kind{phx.KindReply, phx.KindPush} {
			fr, err := phx.V2JSON().Encode(&phx.Outgoing{Kind: kind, JoinRef: m.JoinRef, Ref: m.Ref, Topic: m.Topic, Event: m.Event, Status: "ok", Payload: m.Payload.Data})
			if err != nil {
				t.Fatal(err)
			}
			var out []any
			if err := json.Unmarshal(fr.Data, &out); err != nil || len(out) != 5 {
				t.Fatalf("encoded %q: not a JSON array of 5 (%v)", fr.Data, err)
			}
			if d := cmp.Diff(in[:3], out[:3]); d != "" {
				t.Fatalf("refs/topic not echoed for %q -> %q (-in +out)\n%s", data, fr.Data, d)
			}
		}
	})
}

// FuzzV2DecodeBinary: binary frames never panic; an accepted frame is a
// kind 0 push whose re-encoding gives back the same bytes.
func FuzzV2DecodeBinary(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := phx.V2JSON().Decode(data, true)
		checkDecodeErr(t, err)
		if err != nil {
			return
		}
		if !m.Payload.Binary {
			t.Fatal("binary payload not marked binary")
		}
		for _, s := range []string{m.JoinRef.String(), m.Ref.String(), m.Topic, m.Event} {
			if !utf8.ValidString(s) {
				t.Fatalf("accepted binary frame %x whose text part %q is not valid UTF-8", data, s)
			}
		}
		again := binaryPush(m.JoinRef.String(), m.Ref.String(), m.Topic, m.Event, m.Payload.Data)
		if !bytes.Equal(again, data) {
			t.Fatalf("decode/encode round trip: %x -> %x", data, again)
		}
	})
}

// FuzzV1Decode: v1 objects never panic; errors are close 1007.
func FuzzV1Decode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := phx.V1JSON().Decode(data, false)
		checkDecodeErr(t, err)
		if err != nil {
			return
		}
		fr, err := phx.V1JSON().Encode(&phx.Outgoing{Kind: phx.KindReply, Ref: m.Ref, Topic: m.Topic, Status: "ok", Payload: []byte("{}")})
		if err != nil || !json.Valid(fr.Data) {
			t.Fatalf("encoded %q: %v", fr.Data, err)
		}
		if _, err := phx.V1JSON().Decode(data, true); err == nil {
			t.Fatal("v1 accepted a binary frame")
		}
	})
}

// FuzzSessionReceive feeds random frames to a session that has joined
// room:1 and out:1: Receive never panics, returns nil or a *CloseError, and
// whatever is queued is a well-formed frame.
func FuzzSessionReceive(f *testing.F) {
	ep, _ := newEndpoint(f, phx.Config{QueueLength: 64})
	f.Fuzz(func(t *testing.T, data []byte, binary bool) {
		sess, err := ep.Open(phx.ConnectInfo{Transport: "fuzz"}, phx.V2JSON(), true)
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Detach()
		for _, j := range []string{`["1","1","room:1","phx_join",{}]`, `["2","2","out:1","phx_join",{}]`} {
			if err := sess.Receive([]byte(j), false); err != nil {
				t.Fatal(err)
			}
		}
		// the session keeps references into the frame: give it a copy the
		// fuzzing engine will not overwrite
		err = sess.Receive(bytes.Clone(data), binary)
		if err != nil {
			var ce *phx.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("Receive returned %T %v", err, err)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // take what is queued, do not wait
		frames, _ := sess.Next(ctx)
		for _, fr := range frames {
			if _, err := decodeFrame(fr); err != nil {
				t.Fatalf("malformed outbound frame: %v", err)
			}
		}
	})
}
