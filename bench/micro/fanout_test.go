package micro

import (
	"bufio"
	"context"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seance-go/seance/bench/internal/proto"
	"github.com/seance-go/seance/bench/internal/rawws"
	"github.com/seance-go/seance/bench/internal/server"
)

// BenchmarkBroadcastSockets2000 is row 3 of the harness in one process and
// without its HTTP trigger: one Registry.Broadcast on a plain topic with
// 2,000 WebSocket subscribers over loopback, timed until every client has
// read the frame (a reading goroutine per client). Compare it with
// BenchmarkLoopbackFloor, the kernel's cost of the writes alone.
func BenchmarkBroadcastSockets2000(b *testing.B) {
	const n = 2000
	srv := server.New(server.Options{LongPoll: "off"})
	ts := httptest.NewServer(srv.Mux)
	defer ts.Close()
	defer srv.Shutdown(context.Background())
	addr := ts.Listener.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	type sub struct {
		br *bufio.Reader
		c  interface{ Close() error }
	}
	subs := make([]sub, 0, n)
	defer func() {
		for _, s := range subs {
			s.c.Close()
		}
	}()
	for range n {
		br := bufio.NewReaderSize(nil, 4096)
		c, err := rawws.Dial(ctx, nil, addr, "/socket/websocket?vsn=2.0.0", br)
		if err != nil {
			b.Fatalf("opening %d sockets: %v", n, err)
		}
		subs = append(subs, sub{br, c})
		if err := rawws.WriteText(c, proto.Frame("1", "1", "room:bench", "phx_join", nil)); err != nil {
			b.Fatal(err)
		}
		if _, err := rawws.ReadFrame(br); err != nil {
			b.Fatal(err)
		}
	}
	var cur atomic.Pointer[fanRound]
	var readers sync.WaitGroup
	for _, s := range subs {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				data, err := rawws.ReadFrame(s.br)
				if err != nil {
					return
				}
				if r := cur.Load(); r != nil && proto.SeqOf(data) == r.seq && r.got.Add(1) == n {
					close(r.done)
				}
			}
		}()
	}
	defer readers.Wait()
	defer func() {
		for _, s := range subs {
			s.c.Close()
		}
	}()
	tick := server.Tick{Body: server.TickBody}
	for i := 0; b.Loop(); i++ {
		r := &fanRound{seq: i, done: make(chan struct{})}
		cur.Store(r)
		tick.Seq = i
		if got, err := srv.Reg.Broadcast(ctx, "room:bench", "tick", tick); err != nil || got != n {
			b.Fatalf("broadcast reached %d: %v", got, err)
		}
		select {
		case <-r.done:
		case <-ctx.Done():
			b.Fatalf("round %d: %d of %d received", i, r.got.Load(), n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/broadcast")
}

type fanRound struct {
	seq  int
	got  atomic.Int32
	done chan struct{}
}
