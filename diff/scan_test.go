package diff

import "testing"

// BenchmarkDiffBytesSmall is one field of a small object changed, the
// patch of a typical LiveState event (the bench server's counter).
func BenchmarkDiffBytesSmall(b *testing.B) {
	prev := []byte(`{"count":41,"step":1,"name":"bench counter","owner":"load generator"}`)
	next := []byte(`{"count":42,"step":1,"name":"bench counter","owner":"load generator"}`)
	d := Tree().(BytesAppender)
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = d.AppendDiffBytes(dst[:0], prev, next); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCommonPrefixSuffix checks the word-at-a-time scans against plain
// byte loops, for every length up to 600 and a difference at every place.
func TestCommonPrefixSuffix(t *testing.T) {
	naivePrefix := func(a, b []byte) int {
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		return i
	}
	naiveSuffix := func(a, b []byte) int {
		n := 0
		for n < len(a) && n < len(b) && a[len(a)-1-n] == b[len(b)-1-n] {
			n++
		}
		return n
	}
	for n := 0; n <= 600; n++ {
		a := make([]byte, n)
		for i := range a {
			a[i] = byte('a' + i%26)
		}
		for _, shift := range []int{0, 3} { // b longer than a by shift (suffix only)
			for d := -1; d < n; d++ { // d: the byte changed, -1 for none
				b := append(make([]byte, shift), a...)
				if d >= 0 {
					b[shift+d] ^= 0x20
				}
				if shift == 0 {
					if got, want := commonPrefix(a, b), naivePrefix(a, b); got != want {
						t.Fatalf("commonPrefix, n %d, change at %d: %d, want %d", n, d, got, want)
					}
				}
				if got, want := commonSuffix(a, b), naiveSuffix(a, b); got != want {
					t.Fatalf("commonSuffix, n %d, shift %d, change at %d: %d, want %d", n, shift, d, got, want)
				}
			}
		}
	}
}
