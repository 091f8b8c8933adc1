package streampos

import "testing"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		ref    string
		epoch  string
		offset uint64
		ok     bool
	}{
		{"a1b2:41", "a1b2", 41, true},
		{"ep:och:7", "ep:och", 7, true},
		{"e:0", "e", 0, true},
		{"e:18446744073709551615", "e", 18446744073709551615, true},
		{"e:18446744073709551616", "", 0, false},
		{":5", "", 0, false},
		{"e:", "", 0, false},
		{"e:-1", "", 0, false},
		{"e:+1", "", 0, false},
		{"41", "", 0, false},
		{"", "", 0, false},
	} {
		epoch, offset, ok := Parse(tc.ref)
		if epoch != tc.epoch || offset != tc.offset || ok != tc.ok {
			t.Errorf("Parse(%q) = %q, %d, %v; want %q, %d, %v", tc.ref, epoch, offset, ok, tc.epoch, tc.offset, tc.ok)
		}
	}
}
