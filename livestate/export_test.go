package livestate

import "github.com/seance-go/seance/phx"

// KeptStats returns how many channels h (from New) keeps for resuming and
// the bytes of their states.
func KeptStats(h phx.Handler) (int, int64) {
	return h.(interface{ keptStats() (int, int64) }).keptStats()
}
