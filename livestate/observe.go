package livestate

import "github.com/seance-go/seance/phx"

// observeState reports a state sent on ch to the endpoint's observer:
// whole (full) or a patch, payload bytes.
func observeState(ch *phx.Channel, full bool, bytes int) {
	if o := ch.Endpoint().Observer(); o != nil && o.StateSent != nil {
		o.StateSent(ch.Pattern(), full, bytes)
	}
}
