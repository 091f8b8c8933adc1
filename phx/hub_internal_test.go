package phx

import "testing"

// TestFanoutParts: small topics and a single core keep one goroutine;
// large topics use up to GOMAXPROCS parts of at least fanoutPart each.
func TestFanoutParts(t *testing.T) {
	for _, c := range []struct{ subs, procs, want int }{
		{0, 8, 1}, {1, 8, 1}, {2*fanoutPart - 1, 8, 1}, {2 * fanoutPart, 8, 2},
		{2000, 1, 1}, {2000, 2, 2}, {2000, 4, 4}, {2000, 64, 2000 / fanoutPart},
	} {
		if got := fanoutParts(c.subs, c.procs); got != c.want {
			t.Errorf("fanoutParts(%d, %d) = %d, want %d", c.subs, c.procs, got, c.want)
		}
	}
}
