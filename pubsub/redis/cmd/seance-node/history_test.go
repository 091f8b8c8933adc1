package main

import (
	"context"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seance-go/seance/pubsub/internal/clustertest"
	"github.com/seance-go/seance/pubsub/redis/internal/redistest"
)

// TestHistoryAcrossNodes: two seance-node processes keep the history of
// hist:* in one Redis (-history broker). A Go client and a phoenix.js
// client cut off from one node while 1,000 broadcasts go out reconnect to
// the other and recover all of them in order; a gap beyond the trimmed
// stream, or a stream deleted in Redis (a new epoch), is reported as not
// recovered.
func TestHistoryAcrossNodes(t *testing.T) {
	bin := clustertest.Build(t, t.TempDir())
	srv := redistest.Start(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer rdb.Close()
	start := func(name string) *clustertest.Proc {
		p := startProc(t, bin, srv.Addr, name, "-history", "broker")
		return p.Proc
	}
	n1, n2 := start("n1"), start("n2")
	t.Run("recovery", func(t *testing.T) { clustertest.HistoryRecovery(t, n1, n2) })
	t.Run("not recovered", func(t *testing.T) {
		clustertest.HistoryNotRecovered(t, n1, n2, func(topic string) {
			base := "seance:hist:{" + topic + "}:"
			if err := rdb.Del(context.Background(), base+"s", base+"m").Err(); err != nil {
				t.Fatal(err)
			}
		})
	})
}
