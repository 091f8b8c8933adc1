package handler

import (
	"bytes"
	"compress/flate"
	"io"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/seance-go/seance/phx"
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

// TestSharedCompressedOnce: a shared frame is compressed once, whichever
// connection asks first, and its compressed form inflates to the frame.
func TestSharedCompressedOnce(t *testing.T) {
	d := newDeflater(Compression{Enabled: true})
	data := bytes.Repeat([]byte(`{"k":"v"},`), 1000)
	f := phx.Frame{Data: data, Shared: &phx.SharedFrame{}}
	var wg sync.WaitGroup
	got := make([][]byte, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := f // each connection has its own copy of the frame
			got[i] = d.shared(&g)
		}()
	}
	wg.Wait()
	for _, z := range got[1:] {
		if unsafe.SliceData(z) != unsafe.SliceData(got[0]) {
			t.Fatal("the shared frame was compressed more than once")
		}
	}
	r := flate.NewReader(io.MultiReader(bytes.NewReader(got[0]), strings.NewReader("\x00\x00\xff\xff\x01\x00\x00\xff\xff")))
	out, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(out, data) {
		t.Fatalf("inflated %d bytes, %v", len(out), err)
	}
}
