package livestate

import "github.com/seance-go/seance/phx"

// KeptStats returns how many channels h (from New) keeps for resuming and
// the bytes of their states.
func KeptStats(h phx.Handler) (int, int64) {
	return h.(interface{ keptStats() (int, int64) }).keptStats()
}

// SetBeforeApply makes h (from NewShared[S]) call fn in an owner's
// critical section, before each client event is applied.
func SetBeforeApply[S any](h phx.Handler, fn func()) {
	h.(*sharedHandler[S]).beforeApply = fn
}

// SetBeforeForward makes h (from NewShared[S]) call fn before each client
// event is forwarded to the owner.
func SetBeforeForward[S any](h phx.Handler, fn func()) {
	h.(*sharedHandler[S]).beforeForward = fn
}
