package history_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/seance-go/seance/history"
	"github.com/seance-go/seance/internal/sessiontest"
	"github.com/seance-go/seance/phx"
)

// BenchmarkEntryMemory reports the heap kept per history entry of a small
// message ({"n":…,"text":…}, 60 B of JSON).
func BenchmarkEntryMemory(b *testing.B) {
	const n = 10_000
	for range b.N {
		hist := history.New(history.Options{MaxEntries: n})
		ctx := context.Background()
		before := heap()
		for i := range n {
			hist.Broadcast(ctx, "room:1", "msg", map[string]any{"n": i, "text": "a message of some forty bytes...."})
		}
		after := heap()
		b.ReportMetric(float64(after-before)/n, "B/entry")
		runtime.KeepAlive(hist)
	}
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkRecover1000 measures a rejoin that recovers 1,000 missed
// messages: from the join to the last message's frame in the client's
// outbound queue (in process, no network).
func BenchmarkRecover1000(b *testing.B) {
	ep := phx.NewEndpoint(phx.Config{QueueLength: 4096})
	b.Cleanup(func() { ep.Shutdown(context.Background()) })
	hist := history.New(history.Options{MaxEntries: 1000})
	ep.Handle("room:*", hist.Handler(phx.HandlerFuncs{}))
	ctx := context.Background()
	var epoch string
	for i := range 1000 {
		pos, _ := hist.Broadcast(ctx, "room:1", "msg", map[string]any{"n": i, "text": "a message of some forty bytes...."})
		epoch = pos.Epoch
	}
	join := `["1","1","room:1","phx_join",{"recover":{"epoch":"` + epoch + `","offset":0}}]`
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
