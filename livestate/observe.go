package livestate

import "github.com/seance-go/seance/phx"

// observeState reports a state sent on ch to the endpoint's observer:
// whole (full) or a patch, payload bytes.
func observeState(ep *phx.Endpoint, pattern string, full bool, bytes int) {
	if o := ep.Observer(); o != nil && o.StateSent != nil {
		o.StateSent(pattern, full, bytes)
	}
}
