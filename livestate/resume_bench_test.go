package livestate_test

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/seance-go/seance/internal/sessiontest"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// BenchmarkKeptChannelMemory reports the heap a channel kept for resuming
// holds after its connection dropped (a todo state of 3 items, ~140 B of
// JSON), the dropped connection's leftovers included: the heap after 1,000
// dropped connections with resuming on, less the same with it off.
func BenchmarkKeptChannelMemory(b *testing.B) {
	const n = 1000
	for range b.N {
		off := dropConnections(b, n, livestate.Options{ResumeGrace: -1})
		on := dropConnections(b, n, livestate.Options{})
		b.ReportMetric(float64(on-off)/n, "B/kept")
	}
}

// dropConnections joins n clients and drops their connections, returning
// the heap growth once what is kept is kept.
func dropConnections(b *testing.B, n int, opts livestate.Options) int64 {
	reg := newRegistry(b)
	h := livestate.New(func() livestate.Channel[Todos] { return &todoChannel{} }, opts)
	reg.Handle("todo:*", h)
	before := heapAlloc()
	for i := range n {
		info := phx.ConnectInfo{Transport: "test", Identity: "ann", Params: map[string]any{livestate.ClientIDParam: "tab-" + strconv.Itoa(i)}}
		c := sessiontest.Open(b, reg.Endpoint(), info, phx.V2JSON(), true)
		c.Send(`["1","1","todo:1","phx_join",{"todos":3}]`)
		c.NextFrame() // reply
		c.NextFrame() // state:change
		c.Sess.Detach()
	}
	want := n
	if opts.ResumeGrace < 0 {
		want = 0
	}
	deadline := time.Now().Add(waitTimeout)
	for reg.Endpoint().Sessions() > 0 {
		if time.Now().After(deadline) {
			b.Fatal("sessions not ended")
		}
		time.Sleep(time.Millisecond)
	}
	for {
		if k, _ := livestate.KeptStats(h); k == want {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("channels not kept")
		}
		time.Sleep(time.Millisecond)
	}
	return int64(heapAlloc()) - int64(before)
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
