package client_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"runtime"
	"testing"

	"github.com/seance-go/seance/client"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// BenchmarkIdleSocket opens b.N sockets, each joined to one topic, against
// an in-process server, and reports the memory held per idle joined socket:
// the growth of HeapInuse+StackInuse after GC, divided by b.N. Client and
// server run in this one process, so the figure counts BOTH ends of each
// connection; for the client's share alone, point CLIENT_BENCH_ENDPOINT at
// a server in another process (ws://host:port/socket, any "room:*" join
// accepted). The bench/ harness measures the client at scale.
// goroutines/socket is reported the same way.
func BenchmarkIdleSocket(b *testing.B) {
	reg := livestate.NewRegistry(livestate.Config{Engine: phx.Config{Logger: slog.New(slog.DiscardHandler)}})
	reg.Handle("room:*", phx.HandlerFuncs{})
	srv := httptest.NewServer(livestate.Handler(reg))
	defer func() {
		_ = reg.Shutdown(context.Background())
		srv.Close()
	}()
	endpoint := "ws" + srv.URL[len("http"):] + "/socket"
	if e := os.Getenv("CLIENT_BENCH_ENDPOINT"); e != "" {
		endpoint = e
	}
	ctx := context.Background()
	open := func() *client.Socket {
		s, err := client.Dial(ctx, endpoint, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.Join(ctx, "room:idle", nil); err != nil {
			b.Fatal(err)
		}
		return s
	}
	warm := open() // lazily built state (pools, buffers) is not per socket
	defer warm.Close()

	sockets := make([]*client.Socket, 0, b.N)
	defer func() {
		for _, s := range sockets {
			s.Close()
		}
	}()
	before := memInUse()
	g0 := runtime.NumGoroutine()
	b.ResetTimer()
	for range b.N {
		sockets = append(sockets, open())
	}
	b.StopTimer()
	after := memInUse()
	n := float64(b.N)
	b.ReportMetric(float64(after-before)/1024/n, "KiB/socket")
	b.ReportMetric(float64(runtime.NumGoroutine()-g0)/n, "goroutines/socket")
	runtime.KeepAlive(sockets)
}

func memInUse() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse + ms.StackInuse)
}
