package historytest

import (
	"context"
	"testing"

	"github.com/seance-go/seance/history"
	"github.com/seance-go/seance/internal/sessiontest"
	"github.com/seance-go/seance/phx"
)

// BenchRecover1000 measures a rejoin that recovers 1,000 missed messages
// from store: from the join to the last message's frame in the client's
// outbound queue (in process: the Store's reads are the only network).
// Run it for history.NewMemoryStore in the same run as the baseline.
func BenchRecover1000(b *testing.B, store history.Store) {
	ep := phx.NewEndpoint(phx.Config{QueueLength: 4096})
	b.Cleanup(func() { ep.Shutdown(context.Background()) })
	hist := history.New(history.Options{Store: store})
	ep.Handle("room:*", hist.Handler(phx.HandlerFuncs{}))
	ctx := context.Background()
	topic := Topic("room")
	cur, err := store.Current(ctx, topic)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		if _, err := hist.Broadcast(ctx, topic, "msg", map[string]any{"n": i, "text": "a message of some forty bytes...."}); err != nil {
			b.Fatal(err)
		}
	}
	join := `["1","1","` + topic + `","phx_join",{"recover":{"epoch":"` + cur.Epoch + `","offset":` + uitoa(cur.Offset) + `}}]`
	b.ResetTimer()
	for range b.N {
		c := sessiontest.Open(b, ep, phx.ConnectInfo{Transport: "test"}, phx.V2JSON(), true)
		c.Send(join)
		for range 1002 { // reply, phx_position, 1,000 messages
			c.NextFrame()
		}
		b.StopTimer()
		c.Sess.Detach()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/msg")
}

// BenchAppend measures History.Broadcast of a small message into store
// with no channel joined: the Store's append is the cost.
func BenchAppend(b *testing.B, store history.Store) {
	hist := history.New(history.Options{Store: store})
	ctx := context.Background()
	topic := Topic("room")
	payload := map[string]any{"n": 1, "text": "a message of some forty bytes...."}
	b.ResetTimer()
	for range b.N {
		if _, err := hist.Broadcast(ctx, topic, "msg", payload); err != nil {
			b.Fatal(err)
		}
	}
}

func uitoa(u uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			return string(b[i:])
		}
	}
}

// BenchStores runs BenchRecover1000 and BenchAppend on a fresh Store of
// newStore's (named name) and, as the baseline of the same run, on an
// in-memory one: recover1000/<name>, recover1000/memory, append/….
func BenchStores(b *testing.B, name string, newStore func(b *testing.B) history.Store) {
	stores := []struct {
		name string
		new  func(b *testing.B) history.Store
	}{
		{"memory", func(*testing.B) history.Store { return history.NewMemoryStore(history.MemoryOptions{}) }},
		{name, newStore},
	}
	for _, s := range stores {
		b.Run("recover1000/"+s.name, func(b *testing.B) { BenchRecover1000(b, s.new(b)) })
	}
	for _, s := range stores {
		b.Run("append/"+s.name, func(b *testing.B) { BenchAppend(b, s.new(b)) })
	}
}
