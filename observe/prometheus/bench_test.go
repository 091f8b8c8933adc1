package prometheus_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/handler"

	"github.com/seance-go/seance/observe/prometheus"
	"github.com/seance-go/seance/phx"
)

// benchEndpoint returns an endpoint with an echo route, with the
// Prometheus observer or none.
func benchEndpoint(b *testing.B, observed bool) *phx.Endpoint {
	cfg := phx.Config{Logger: quietLogger()}
	if observed {
		cfg.Observer = prometheus.New(prometheus.Options{}).Observer()
	}
	ep := phx.NewEndpoint(cfg)
	ep.Handle("room:*", phx.HandlerFuncs{InFunc: func(_ context.Context, _ *phx.Channel, m *phx.Message) (*phx.Reply, error) {
		return phx.Ok(m.Payload), nil
	}})
	b.Cleanup(func() { ep.Shutdown(context.Background()) })
	return ep
}

func join(b *testing.B, ep *phx.Endpoint) *phx.Session {
	sess, err := ep.Open(phx.ConnectInfo{Transport: "websocket"}, phx.V2JSON(), true)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(sess.Detach)
	if err := sess.Receive([]byte(`["1","1","room:1","phx_join",{}]`), false); err != nil {
		b.Fatal(err)
	}
	if _, err := sess.Next(context.Background()); err != nil {
		b.Fatal(err)
	}
	return sess
}

// BenchmarkRoundTrip is one client event and its reply through the engine
// (decode, channel callback, encode, outbound queue), without an observer
// and with the Prometheus one: compare the two on the same machine.
func BenchmarkRoundTrip(b *testing.B) {
	for _, tc := range []struct {
		name     string
		observed bool
	}{{"none", false}, {"prometheus", true}} {
		b.Run(tc.name, func(b *testing.B) {
			sess := join(b, benchEndpoint(b, tc.observed))
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				// Receive keeps references into the frame: a fresh one each time.
				if err := sess.Receive([]byte(`["1","2","room:1","echo",{"body":"hello"}]`), false); err != nil {
					b.Fatal(err)
				}
				for n := 0; n < 1; {
					frames, err := sess.Next(ctx)
					if err != nil {
						b.Fatal(err)
					}
					n += len(frames)
				}
			}
		})
	}
}

// BenchmarkBroadcast200 is one broadcast to 200 joined sessions, each
// queue drained as a transport's writer would (the outbound frame path).
func BenchmarkBroadcast200(b *testing.B) {
	for _, tc := range []struct {
		name     string
		observed bool
	}{{"none", false}, {"prometheus", true}} {
		b.Run(tc.name, func(b *testing.B) {
			ep := benchEndpoint(b, tc.observed)
			sessions := make([]*phx.Session, 200)
			for i := range sessions {
				sessions[i] = join(b, ep)
			}
			ctx := context.Background()
			payload := map[string]string{"body": "hello everyone"}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := ep.Broadcast(ctx, "room:1", "msg", payload); err != nil {
					b.Fatal(err)
				}
				for _, s := range sessions {
					if frames, _ := s.Take(); len(frames) != 1 {
						b.Fatalf("%d frames queued, want 1", len(frames))
					}
				}
			}
		})
	}
}

// BenchmarkWebSocketRoundTrip is BenchmarkRoundTrip over a real loopback
// WebSocket (handler transport, gorilla client): what a client sees.
func BenchmarkWebSocketRoundTrip(b *testing.B) {
	for _, tc := range []struct {
		name     string
		observed bool
	}{{"none", false}, {"prometheus", true}} {
		b.Run(tc.name, func(b *testing.B) {
			ep := benchEndpoint(b, tc.observed)
			srv := httptest.NewServer(handler.New(ep, handler.Options{Logger: quietLogger()}))
			defer srv.Close()
			conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/websocket?vsn=2.0.0", nil)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			roundTrip := func(frame []byte) {
				if err := conn.WriteMessage(websocket.TextMessage, frame); err != nil {
					b.Fatal(err)
				}
				if _, _, err := conn.ReadMessage(); err != nil {
					b.Fatal(err)
				}
			}
			roundTrip([]byte(`["1","1","room:1","phx_join",{}]`))
			frame := []byte(`["1","2","room:1","echo",{"body":"hello"}]`)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				roundTrip(frame)
			}
		})
	}
}
