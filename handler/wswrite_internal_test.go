package handler

import (
	"bytes"
	"testing"
)

// TestCutAtFrame: after a write stopped anywhere in a batch, what is left
// to write is exactly the rest of the frame it stopped in (nothing at a
// frame boundary), whether frames were packed into the buffer or written
// from their own memory.
func TestCutAtFrame(t *testing.T) {
	payloads := [][]byte{
		[]byte("small"),
		bytes.Repeat([]byte("b"), copyMax+1), // referenced, not copied
		[]byte(""),
		bytes.Repeat([]byte("d"), 300),
		bytes.Repeat([]byte("e"), 70000), // 64-bit length
	}
	p := &batches{bufs: nopPool{}, size: 64} // a small buffer: several packed segments
	b := p.get()
	var whole []byte
	var ends []int
	for _, pl := range payloads {
		b.add(opText, pl)
		whole = appendHeader(whole, opText, len(pl))
		whole = append(whole, pl...)
		ends = append(ends, len(whole))
	}
	b.seal()
	if got := bytes.Join(b.rest, nil); !bytes.Equal(got, whole) {
		t.Fatalf("batch holds %d bytes, want the %d of its frames", len(got), len(whole))
	}
	all := append([][]byte(nil), b.rest...)
	// Every offset through the small frames, and around each frame's ends.
	offsets := []int{len(whole) - 1000, len(whole)}
	for o := 0; o <= ends[3]+1; o++ {
		offsets = append(offsets, o)
	}
	for _, end := range ends {
		offsets = append(offsets, end-1, end, min(end+1, len(whole)))
	}
	for _, written := range offsets {
		b.rest = append(b.rest[:0], all...)
		b.consume(written)
		b.cutAtFrame()
		want := 0
		for i, end := range ends {
			start := 0
			if i > 0 {
				start = ends[i-1]
			}
			if written > start && written < end {
				want = end - written
			}
		}
		got := bytes.Join(b.rest, nil)
		if len(got) != want || !bytes.Equal(got, whole[written:written+want]) {
			t.Fatalf("written %d: %d bytes left, want %d", written, len(got), want)
		}
	}
	p.put(b)
	if len(b.ends) != 0 || b.total != 0 {
		t.Error("a recycled batch keeps its frame ends")
	}
}
