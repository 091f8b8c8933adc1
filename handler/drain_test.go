package handler_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

// BenchmarkDrainReconnectPeak measures what a rolling deploy does to the
// surviving node: 5,000 WebSocket clients of node A reconnect to node B as
// soon as A's Shutdown closes them (no client backoff: the worst case), and
// B records when each connection arrives. It reports the peak of new
// connections B accepts within any 100 ms, closing all at once
// (DrainBatchSize 5000; Phoenix's default of 10,000 does the same for
// this node) and in batches of 250 every 250 ms.
//
//	go test -run '^$' -bench DrainReconnectPeak -benchtime 1x ./handler
func BenchmarkDrainReconnectPeak(b *testing.B) {
	const clients = 5000
	for _, c := range []struct {
		name     string
		batch    int
		interval time.Duration
	}{
		{"all-at-once", clients, time.Second},
		{"batches-250-every-250ms", 250, 250 * time.Millisecond},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				peak, spread := drainOnce(b, clients, c.batch, c.interval)
				b.ReportMetric(float64(peak), "peak-conns/100ms")
				b.ReportMetric(spread.Seconds()*1000, "spread-ms")
			}
		})
	}
}

func drainOnce(b *testing.B, clients, batch int, interval time.Duration) (peak int, spread time.Duration) {
	b.Helper()
	epA := phx.NewEndpoint(phx.Config{Logger: quietLogger(), DrainBatchSize: batch, DrainInterval: interval})
	epB := phx.NewEndpoint(phx.Config{Logger: quietLogger()})
	srvA := httptest.NewServer(handler.New(epA, handler.Options{Logger: quietLogger()}))
	var (
		mu       sync.Mutex
		arrivals []time.Time
	)
	srvB := httptest.NewServer(handler.New(epB, handler.Options{Logger: quietLogger(), Connect: func(r *http.Request, info *phx.ConnectInfo) error {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		return nil
	}}))
	defer srvB.Close()
	wsURL := func(s *httptest.Server) string {
		return "ws" + strings.TrimPrefix(s.URL, "http") + "/socket/websocket?vsn=2.0.0"
	}
	dialer := &websocket.Dialer{HandshakeTimeout: 30 * time.Second}
	var (
		wg       sync.WaitGroup
		onA      sync.WaitGroup
		failures atomic.Int64
		conns    = make(chan *websocket.Conn, clients)
	)
	sem := make(chan struct{}, 64) // bounded dialing of the initial clients
	for range clients {
		wg.Add(1)
		onA.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			ca, _, err := dialer.Dial(wsURL(srvA), nil)
			<-sem
			onA.Done()
			if err != nil {
				failures.Add(1)
				return
			}
			for { // read until node A closes the connection
				if _, _, err := ca.ReadMessage(); err != nil {
					break
				}
			}
			ca.Close()
			cb, _, err := dialer.Dial(wsURL(srvB), nil)
			if err != nil {
				failures.Add(1)
				return
			}
			conns <- cb
		}()
	}
	onA.Wait()
	deadline := time.Now().Add(60 * time.Second)
	for epA.Sessions() < clients-int(failures.Load()) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	b.ResetTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if err := epA.Shutdown(ctx); err != nil {
		b.Fatalf("Shutdown A: %v", err)
	}
	wg.Wait()
	b.StopTimer()
	srvA.Close()
	close(conns)
	for c := range conns {
		c.Close()
	}
	if err := epB.Shutdown(ctx); err != nil {
		b.Fatalf("Shutdown B: %v", err)
	}
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d clients failed to connect", n)
	}
	if len(arrivals) != clients {
		b.Fatalf("B saw %d reconnections, want %d", len(arrivals), clients)
	}
	// Peak over a sliding 100 ms window.
	for i, j := 0, 0; j < len(arrivals); j++ {
		for arrivals[j].Sub(arrivals[i]) > 100*time.Millisecond {
			i++
		}
		peak = max(peak, j-i+1)
	}
	return peak, arrivals[len(arrivals)-1].Sub(arrivals[0])
}
