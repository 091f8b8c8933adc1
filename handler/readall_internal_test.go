package handler

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadAll: messages of every size come back whole and at their exact
// size, the buffers lent by the pool reused without leaking one message
// into another.
func TestReadAll(t *testing.T) {
	h := &Handler{}
	var all []struct {
		got  []byte
		want string
	}
	for _, n := range []int{0, 1, 100, 1023, 1024, 1025, 4096, maxScratch, maxScratch + 1, 70000, 3} {
		want := strings.Repeat(string(rune('a'+n%26)), n)
		for _, r := range []io.Reader{strings.NewReader(want), iotest.OneByteReader(strings.NewReader(want)), iotest.DataErrReader(strings.NewReader(want))} {
			got, err := h.readAll(r)
			if err != nil {
				t.Fatalf("%d bytes: %v", n, err)
			}
			if string(got) != want {
				t.Fatalf("%d bytes: got %d bytes, not the message", n, len(got))
			}
			if n <= maxScratch && cap(got) > n+n/8+16 { // the allocator's size classes
				t.Errorf("%d bytes: returned with capacity %d", n, cap(got))
			}
			all = append(all, struct {
				got  []byte
				want string
			}{got, want})
		}
	}
	for _, m := range all {
		if !bytes.Equal(m.got, []byte(m.want)) {
			t.Fatalf("a message of %d bytes was overwritten by a later read", len(m.want))
		}
	}
}

// frame is a client frame: fin, opcode, masked payload.
func frame(fin bool, op byte, payload []byte) []byte {
	if fin {
		op |= 0x80
	}
	return maskedFrame(op, [4]byte{1, 2, 3, 4}, payload)
}

// TestWholeMessage: a message counts as buffered only once every frame up
// to its final data frame is, whatever the length encoding, with control
// frames between its fragments.
func TestWholeMessage(t *testing.T) {
	cat := func(fs ...[]byte) []byte { return bytes.Join(fs, nil) }
	small, mid, big := []byte("hello"), bytes.Repeat([]byte{'m'}, 300), bytes.Repeat([]byte{'b'}, 70000)
	for _, tc := range []struct {
		name string
		in   []byte
		want bool
	}{
		{"empty", nil, false},
		{"one byte", []byte{0x81}, false},
		{"small", frame(true, 1, small), true},
		{"small, then part of the next", cat(frame(true, 1, small), []byte{0x81, 0x85}), true},
		{"small, one byte short", frame(true, 1, small)[:10], false},
		{"small, mask cut", frame(true, 1, small)[:4], false},
		{"small, header only", frame(true, 1, small)[:2], false},
		{"16-bit length, mask cut", frame(true, 1, mid)[:6], false},
		{"64-bit length, mask cut", frame(true, 2, big)[:12], false},
		{"16-bit length", frame(true, 1, mid), true},
		{"16-bit length, header cut", frame(true, 1, mid)[:3], false},
		{"16-bit length, payload cut", frame(true, 1, mid)[:200], false},
		{"64-bit length", frame(true, 2, big), true},
		{"64-bit length, header cut", frame(true, 2, big)[:9], false},
		{"64-bit length, payload cut", frame(true, 2, big)[:70000], false},
		{"first fragment only", frame(false, 1, small), false},
		{"fragments", cat(frame(false, 1, small), frame(false, 0, small), frame(true, 0, small)), true},
		{"ping between fragments", cat(frame(false, 1, small), frame(true, 9, nil), frame(true, 0, small)), true},
		{"a ping alone", frame(true, 9, small), false},
		{"a ping, then a message", cat(frame(true, 9, small), frame(true, 1, small)), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReaderSize(bytes.NewReader(tc.in), 1<<17)
			br.Peek(len(tc.in))
			if got := wholeMessage(br); got != tc.want {
				t.Fatalf("wholeMessage = %v, want %v", got, tc.want)
			}
		})
	}
}

// FuzzWholeMessage: any input is looked at without a panic, and more
// input never makes a whole message partial again.
func FuzzWholeMessage(f *testing.F) {
	f.Add(frame(true, 1, []byte("hello")), []byte{})
	f.Add(frame(true, 1, []byte("hello"))[:4], []byte{1, 2})
	f.Add(frame(false, 1, []byte("a")), frame(true, 0, []byte("b")))
	f.Add([]byte{0x82, 0xff}, []byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, a, more []byte) {
		whole := func(b []byte) bool {
			br := bufio.NewReaderSize(bytes.NewReader(b), max(16, len(b)))
			br.Peek(len(b))
			return wholeMessage(br)
		}
		if whole(a) && !whole(append(a[:len(a):len(a)], more...)) {
			t.Fatalf("%x is a whole message, %x after it is not", a, more)
		}
	})
}
