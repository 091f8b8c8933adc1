package history_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/seance-go/seance/history"
	"github.com/seance-go/seance/internal/historytest"
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
// messages from the in-memory store: from the join to the last message's
// frame in the client's outbound queue (in process, no network). The
// adapters run the same benchmark on their stores.
func BenchmarkRecover1000(b *testing.B) {
	historytest.BenchRecover1000(b, history.NewMemoryStore(history.MemoryOptions{MaxEntries: 1000}))
}
