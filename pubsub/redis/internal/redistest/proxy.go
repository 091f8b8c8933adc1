package redistest

import (
	"testing"

	"github.com/seance-go/seance/pubsub/internal/adaptertest"
)

// Proxy forwards TCP connections to a Redis server and can black-hole
// them: see [adaptertest.Proxy].
type Proxy = adaptertest.Proxy

// NewProxy starts a proxy to target, stopped at the end of the test.
func NewProxy(t testing.TB, target string) *Proxy { return adaptertest.NewProxy(t, target) }
