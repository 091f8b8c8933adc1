package nats_test

import (
	"testing"
	"time"

	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/pubsub/internal/presencetest"
	psnats "github.com/seance-go/seance/pubsub/nats"
	"github.com/seance-go/seance/pubsub/nats/internal/natstest"
)

// presenceNode makes a node process's adapter (see TestMain).
func presenceNode(node, broker string) (phx.PubSub, error) {
	return psnats.New(psnats.Options{URL: broker, Node: node, ReconnectWait: 20 * time.Millisecond})
}

// Three node processes over one NATS server: clients on every node see the
// same presence list through churn and a NATS restart; a node killed with
// SIGKILL leaves the others' lists within the down period.
func TestPresenceCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three node processes")
	}
	srv := natstest.Start(t)
	presencetest.RunCluster(t, srv.Server, srv.URL)
}
