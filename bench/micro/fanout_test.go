package micro

import (
	"bufio"
	"context"
	"net"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seance-go/seance/bench/internal/proto"
	"github.com/seance-go/seance/bench/internal/rawws"
	"github.com/seance-go/seance/bench/internal/server"
)

// fanSubs is the number of subscribers of the socket fan-out benchmarks.
const fanSubs = 2000

type fanSub struct {
	br *bufio.Reader
	c  net.Conn
}

// fanServer starts the harness's server under test in process and joins
// fanSubs raw WebSocket clients to room:bench over loopback.
func fanServer(b *testing.B, ctx context.Context) (*server.Server, []fanSub) {
	srv := server.New(server.Options{LongPoll: "off"})
	ts := httptest.NewServer(srv.Mux)
	b.Cleanup(func() {
		srv.Shutdown(context.Background())
		ts.Close()
	})
	addr := ts.Listener.Addr().String()
	subs := make([]fanSub, 0, fanSubs)
	b.Cleanup(func() {
		for _, s := range subs {
			s.c.Close()
		}
	})
	for range fanSubs {
		br := bufio.NewReaderSize(nil, 4096)
		c, err := rawws.Dial(ctx, nil, addr, "/socket/websocket?vsn=2.0.0", br)
		if err != nil {
			b.Fatalf("opening %d sockets: %v", fanSubs, err)
		}
		subs = append(subs, fanSub{br, c})
		if err := rawws.WriteText(c, proto.Frame("1", "1", "room:bench", "phx_join", nil)); err != nil {
			b.Fatal(err)
		}
		if _, err := rawws.ReadFrame(br); err != nil {
			b.Fatal(err)
		}
		c.SetDeadline(time.Time{})
	}
	return srv, subs
}

// BenchmarkBroadcastSockets2000 is row 3 of the harness in one process and
// without its HTTP trigger: one Registry.Broadcast on a plain topic with
// 2,000 WebSocket subscribers over loopback, timed until every client has
// read the frame (a reading goroutine per client, on the same cores).
func BenchmarkBroadcastSockets2000(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, subs := fanServer(b, ctx)
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
				if r := cur.Load(); r != nil && proto.SeqOf(data) == r.seq && r.got.Add(1) == fanSubs {
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
		if got, err := srv.Reg.Broadcast(ctx, "room:bench", "tick", tick); err != nil || got != fanSubs {
			b.Fatalf("broadcast reached %d: %v", got, err)
		}
		select {
		case <-r.done:
		case <-ctx.Done():
			b.Fatalf("round %d: %d of %d received", i, r.got.Load(), fanSubs)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/broadcast")
}

// BenchmarkBroadcastWrites2000 is the server's side of the same broadcast,
// comparable with BenchmarkLoopbackFloor: nobody reads while it runs, and
// the timer stops when Registry.Broadcast returns, which on a topic this
// large is once every frame has been written to a socket that could take
// it (or handed to the connection's writer otherwise). Each client's frame
// is read outside the timer.
func BenchmarkBroadcastWrites2000(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, subs := fanServer(b, ctx)
	tick := server.Tick{Body: server.TickBody}
	var cpu cpuMeter
	for i := 0; b.Loop(); i++ {
		tick.Seq = i
		cpu.begin()
		got, err := srv.Reg.Broadcast(ctx, "room:bench", "tick", tick)
		cpu.end()
		if err != nil || got != fanSubs {
			b.Fatalf("broadcast reached %d: %v", got, err)
		}
		b.StopTimer()
		for _, s := range subs {
			s.c.SetReadDeadline(time.Now().Add(30 * time.Second))
			data, err := rawws.ReadFrame(s.br)
			if err != nil || proto.SeqOf(data) != i {
				b.Fatalf("round %d: read %q, %v", i, data, err)
			}
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/broadcast")
	cpu.report(b)
}

type fanRound struct {
	seq  int
	got  atomic.Int32
	done chan struct{}
}

// BenchmarkBroadcastVsFloor2000 measures BenchmarkBroadcastWrites2000's
// broadcast and BenchmarkLoopbackFloor's writers=GOMAXPROCS pass (on
// sockets of its own) in the same iterations, one after the other in
// alternating order, so that both see the same load on a shared machine.
// It reports the medians of both (bcast-p50-ms, floor-p50-ms) and the
// median of their ratio per iteration (ratio-p50), the figure issue 17's
// target (p50 ≤ 1.3× the floor) is about. ns/op covers everything,
// reading included.
func BenchmarkBroadcastVsFloor2000(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srv, subs := fanServer(b, ctx)
	fsrv, fcli := loopbackPairs(b, fanSubs)
	frame := make([]byte, floorFrame)
	writers := runtime.GOMAXPROCS(0)
	tick := server.Tick{Body: server.TickBody}
	var bcast, floor, ratio []float64
	for i := 0; b.Loop(); i++ {
		var tb, tf time.Duration
		for j := range 2 {
			if (i+j)%2 == 0 {
				tick.Seq = i
				t := time.Now()
				got, err := srv.Reg.Broadcast(ctx, "room:bench", "tick", tick)
				tb = time.Since(t)
				if err != nil || got != fanSubs {
					b.Fatalf("broadcast reached %d: %v", got, err)
				}
				for _, s := range subs {
					s.c.SetReadDeadline(time.Now().Add(30 * time.Second))
					data, err := rawws.ReadFrame(s.br)
					if err != nil || proto.SeqOf(data) != i {
						b.Fatalf("round %d: read %q, %v", i, data, err)
					}
				}
			} else {
				t := time.Now()
				floorWrite(b, fsrv, frame, writers)
				tf = time.Since(t)
				floorDrain(b, fcli)
			}
		}
		bcast = append(bcast, float64(tb.Nanoseconds())/1e6)
		floor = append(floor, float64(tf.Nanoseconds())/1e6)
		ratio = append(ratio, float64(tb)/float64(tf))
	}
	b.ReportMetric(median(bcast), "bcast-p50-ms")
	b.ReportMetric(median(floor), "floor-p50-ms")
	b.ReportMetric(median(ratio), "ratio-p50")
}

// median returns the median of v (which it sorts).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
