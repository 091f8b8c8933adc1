package handler

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/gorilla/websocket"
)

// maskedFrame is a client's frame: payload masked with key.
func maskedFrame(b0 byte, key [4]byte, payload []byte) []byte {
	b := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i&3])
	}
	return b
}

func buffered(in []byte) *bufio.Reader {
	br := bufio.NewReaderSize(bytes.NewReader(in), max(16, len(in)))
	br.Peek(len(in))
	return br
}

// TestTakeFrame: a whole, final, masked, uncompressed data frame is read
// and unmasked without gorilla; everything else is left in the buffer,
// untouched, for gorilla.
func TestTakeFrame(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	text := []byte(`["1","2","counter:rt","lvs_evt:increment",{}]`)
	mid := bytes.Repeat([]byte("0123456789"), 30)
	for _, tc := range []struct {
		name string
		in   []byte
		op   int // 0: left for gorilla
		want []byte
	}{
		{"text", maskedFrame(0x81, key, text), websocket.TextMessage, text},
		{"binary", maskedFrame(0x82, key, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8}), websocket.BinaryMessage, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8}},
		{"empty", maskedFrame(0x81, key, nil), websocket.TextMessage, []byte{}},
		{"16-bit length", maskedFrame(0x81, key, mid), websocket.TextMessage, mid},
		{"followed by the next", append(maskedFrame(0x81, key, text), maskedFrame(0x81, key, text)...), websocket.TextMessage, text},
		{"cut in the payload", maskedFrame(0x81, key, text)[:20], 0, nil},
		{"cut in the mask", maskedFrame(0x81, key, text)[:4], 0, nil},
		{"fragment", maskedFrame(0x01, key, text), 0, nil},
		{"continuation", maskedFrame(0x80, key, text), 0, nil},
		{"compressed (RSV1)", maskedFrame(0xc1, key, text), 0, nil},
		{"RSV2", maskedFrame(0xa1, key, text), 0, nil},
		{"ping", maskedFrame(0x89, key, []byte("hi")), 0, nil},
		{"close", maskedFrame(0x88, key, []byte{3, 232}), 0, nil},
		{"reserved opcode", maskedFrame(0x83, key, text), 0, nil},
		{"unmasked", append([]byte{0x81, byte(len(text))}, text...), 0, nil},
		{"over the limit", maskedFrame(0x81, key, bytes.Repeat([]byte("x"), 2000)), 0, nil},
		{"over maxTake", maskedFrame(0x81, key, bytes.Repeat([]byte("x"), maxTake+1)), 0, nil},
		{"64-bit length", maskedFrame(0x82, key, bytes.Repeat([]byte("x"), 70000)), 0, nil},
	} {
		br := buffered(tc.in)
		limit := int64(1 << 20)
		if tc.name == "over the limit" {
			limit = 1000
		}
		op, data, ok := takeFrame(br, limit)
		if ok != (tc.op != 0) || op != tc.op || !bytes.Equal(data, tc.want) {
			t.Errorf("%s: takeFrame = %d, %q, %v; want %d, %q", tc.name, op, data, ok, tc.op, tc.want)
			continue
		}
		left := len(tc.in)
		if ok {
			left -= len(maskedFrame(0x81, key, tc.want))
			if cap(data) != len(data) {
				t.Errorf("%s: cap %d for %d bytes", tc.name, cap(data), len(data))
			}
		}
		if br.Buffered() != left {
			t.Errorf("%s: %d bytes left, want %d", tc.name, br.Buffered(), left)
		}
	}
}

// FuzzTakeFrame: no input panics; a frame taken is exactly one whole
// message at the head of the input, its payload unmasked, and only it is
// consumed.
func FuzzTakeFrame(f *testing.F) {
	key := [4]byte{1, 2, 3, 4}
	f.Add(maskedFrame(0x81, key, []byte("hello")))
	f.Add(maskedFrame(0x81, key, bytes.Repeat([]byte("y"), 300))[:100])
	f.Add(maskedFrame(0x01, key, []byte("a")))
	f.Add([]byte{0x82, 0xfe, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		br := buffered(in)
		whole := wholeMessage(br)
		op, data, ok := takeFrame(br, 1<<20)
		if !ok {
			if br.Buffered() != len(in) {
				t.Fatalf("%x: refused, but consumed %d bytes", in, len(in)-br.Buffered())
			}
			return
		}
		if !whole {
			t.Fatalf("%x: taken, but not a whole message", in)
		}
		var k [4]byte
		hdr := 2
		if in[1]&0x7f == 126 {
			hdr = 4
		}
		copy(k[:], in[hdr:])
		want := maskedFrame(in[0], k, data)
		if in[1]&0x7f == 126 && len(data) < 126 {
			want = append([]byte{in[0], in[1], in[2], in[3]}, want[2:]...) // a non-minimal length, as sent
		}
		if op != int(in[0]&0x0f) || !bytes.HasPrefix(in, want) || br.Buffered() != len(in)-len(want) {
			t.Fatalf("%x: took op %d, %x, leaving %d bytes", in, op, data, br.Buffered())
		}
	})
}
