package handler

import (
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
