package redis_test

import (
	"testing"
	"time"

	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/pubsub/internal/presencetest"
	psredis "github.com/seance-go/seance/pubsub/redis"
	"github.com/seance-go/seance/pubsub/redis/internal/redistest"
)

// presenceNode makes a node process's adapter (see TestMain).
func presenceNode(node, broker string) (phx.PubSub, error) {
	return psredis.New(psredis.Options{Addr: broker, Node: node,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
}

// Three node processes over one Redis: clients on every node see the same
// presence list through churn and a Redis restart; a node killed with
// SIGKILL leaves the others' lists within the down period.
func TestPresenceCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three node processes")
	}
	srv := redistest.Start(t)
	presencetest.RunCluster(t, srv, srv.Addr)
}
