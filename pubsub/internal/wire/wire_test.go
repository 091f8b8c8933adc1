package wire

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRoundTrip(t *testing.T) {
	cases := []Message{
		{Epoch: 7, Seq: 1, From: "n1", Topic: "room:1", Event: "msg", Payload: []byte(`{"a":1}`)},
		{Epoch: 1<<64 - 1, Seq: 1<<64 - 1, From: "n1", To: "n2", Topic: "t", Event: "e", Payload: []byte{0, 1, 2, 255}, Binary: true},
		{Epoch: 3, Seq: 300, From: "ñødé", Topic: "", Event: ""},
		{Epoch: 3, Seq: 2, From: string(bytes.Repeat([]byte("x"), 1000)), Topic: "a:b", Event: "ev", Payload: bytes.Repeat([]byte("p"), 70000)},
	}
	for _, m := range cases {
		b := Append(nil, &m)
		if len(b) > Size(&m) {
			t.Errorf("Size = %d < encoded %d", Size(&m), len(b))
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode(%+v): %v", m, err)
		}
		if diff := cmp.Diff(m, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

func TestDecodeVersion(t *testing.T) {
	b := Append(nil, &Message{Epoch: 1, Seq: 1, From: "n", Topic: "t", Event: "e"})
	if b[0] != Version {
		t.Fatalf("first byte %d, want version %d", b[0], Version)
	}
	for _, v := range []byte{0, 2, 255} {
		c := bytes.Clone(b)
		c[0] = v
		if _, err := Decode(c); !errors.Is(err, ErrUnknownVersion) {
			t.Errorf("version %d: err = %v, want ErrUnknownVersion", v, err)
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	full := Append(nil, &Message{Epoch: 1, Seq: 1000, From: "node", To: "other", Topic: "topic", Event: "event"})
	// Every strict prefix of a message without payload is truncated.
	for i := 0; i < len(full); i++ {
		if _, err := Decode(full[:i]); !errors.Is(err, ErrMalformed) {
			t.Errorf("prefix %d: err = %v, want ErrMalformed", i, err)
		}
	}
	bad := bytes.Clone(full)
	bad[1] = 0x80
	if _, err := Decode(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("unknown flag: err = %v, want ErrMalformed", err)
	}
	huge := append([]byte{Version, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)
	if _, err := Decode(huge); !errors.Is(err, ErrMalformed) {
		t.Errorf("huge length: err = %v, want ErrMalformed", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Append(nil, &Message{Epoch: 1, Seq: 1, From: "a", To: "b", Topic: "c", Event: "d", Payload: []byte("e")}))
	f.Add([]byte{Version, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownVersion) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		again, err := Decode(Append(nil, &m))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if diff := cmp.Diff(m, again); diff != "" {
			t.Fatalf("re-encode changed the message:\n%s", diff)
		}
	})
}

func TestSequencer(t *testing.T) {
	var s Sequencer
	e1, q1 := s.Next("a")
	_, q2 := s.Next("a")
	_, qb := s.Next("b")
	if e1 == 0 || q1 != 1 || q2 != 2 || qb != 1 {
		t.Fatalf("epoch %d seqs %d %d %d, want nonzero 1 2 1", e1, q1, q2, qb)
	}
	s2 := Sequencer{MaxKeys: 2}
	e, _ := s2.Next("a")
	s2.Next("b")
	e3, q := s2.Next("c") // over the bound: counters cleared, new epoch
	if e3 == e || q != 1 {
		t.Fatalf("after overflow epoch %d (was %d) seq %d, want a new epoch and 1", e3, e, q)
	}
	if _, q := s2.Next("a"); q != 1 {
		t.Fatalf("key a after overflow seq %d, want 1", q)
	}
}

func TestTracker(t *testing.T) {
	type obs struct {
		key, node string
		epoch     uint64
		seq       uint64
		want      int64
	}
	steps := []obs{
		{"k", "n1", 5, 10, 0},  // baseline
		{"k", "n1", 5, 11, 0},  // in order
		{"k", "n1", 5, 14, 2},  // 12, 13 missing
		{"k", "n1", 5, 12, -1}, // late: fills a gap
		{"k", "n1", 5, 12, 0},  // duplicate
		{"k", "n2", 9, 100, 0}, // another sender: own baseline
		{"k", "n1", 6, 1, 0},   // sender restarted: new baseline
		{"k", "n1", 6, 200, 198},
		{"k", "n1", 6, 100, 0}, // older than the window: ignored
		{"other", "n1", 6, 500, 0},
	}
	var tr Tracker
	for i, s := range steps {
		if got := tr.Observe(s.key, s.node, s.epoch, s.seq); got != s.want {
			t.Errorf("step %d %+v: got %d", i, s, got)
		}
	}
	tr.Forget("k")
	if got := tr.Observe("k", "n1", 6, 300); got != 0 {
		t.Errorf("after Forget: got %d, want a new baseline (0)", got)
	}
}

func TestTrackerReorderWithinWindow(t *testing.T) {
	var tr Tracker
	tr.Observe("k", "n", 1, 1)
	var missing int64
	// 2..65 arrive in reverse order: every one is first counted missing by
	// the jump to 65, then filled.
	for s := uint64(65); s >= 2; s-- {
		missing += tr.Observe("k", "n", 1, s)
	}
	if missing != 0 {
		t.Fatalf("net missing after a full reorder = %d, want 0", missing)
	}
}
