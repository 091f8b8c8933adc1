package redis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	seancecluster "github.com/seance-go/seance/cluster"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/longpoll"
	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/pubsub/internal/adaptertest"
	psredis "github.com/seance-go/seance/pubsub/redis"
	"github.com/seance-go/seance/pubsub/redis/internal/redistest"
)

// BenchmarkLongPollRelay measures a long-poll round trip (a POST carrying
// an "echo" push, then the GET that brings its reply) when both requests
// reach the session's owner ("direct") and when both reach another node,
// which relays them to the owner through Redis ("relay"). It reports p50
// and p99 of each and the p99 ratio relay ÷ direct.
//
//	go test -run '^$' -bench LongPollRelay -benchtime 2000x ./
func BenchmarkLongPollRelay(b *testing.B) {
	srv := redistest.Start(b)
	quiet := slog.New(slog.DiscardHandler)
	secret := []byte("a benchmark secret of thirty-two bytes!")
	var urls []string
	for _, name := range []string{"owner", "other"} {
		ps, err := psredis.New(psredis.Options{Addr: srv.Addr, Node: name, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		ep := phx.NewEndpoint(phx.Config{PubSub: ps, Logger: quiet})
		adaptertest.WaitFor(b, 10*time.Second, name+" connected", func() bool { return ps.Stats().Connected })
		ep.Handle("room:*", phx.HandlerFuncs{InFunc: func(ctx context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
			return phx.Ok(phx.Raw(msg.Payload.Data)), nil
		}})
		node := seancecluster.New(ep, seancecluster.Options{Logger: quiet})
		lp := longpoll.New(ep, longpoll.Options{Secret: secret, Cluster: node, Logger: quiet})
		hs := httptest.NewServer(handler.New(ep, handler.Options{LongPoll: lp, Logger: quiet}))
		urls = append(urls, hs.URL+"/socket/longpoll")
		b.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ep.Shutdown(ctx)
			lp.Shutdown(ctx)
			node.Close(ctx)
			hs.Close()
			ps.Close()
		})
	}
	client := &http.Client{}
	do := func(method, u, body string) map[string]any {
		req, _ := http.NewRequest(method, u, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-ndjson")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(data, &out); err != nil {
			b.Fatalf("%s: %q", method, data)
		}
		return out
	}
	// A session on the owner, with a joined channel.
	open := do(http.MethodGet, urls[0]+"?vsn=2.0.0", "")
	token := url.QueryEscape(open["token"].(string))
	do(http.MethodPost, urls[0]+"?vsn=2.0.0&token="+token, `["1","1","room:bench","phx_join",{}]`)
	for got := do(http.MethodGet, urls[0]+"?vsn=2.0.0&token="+token, ""); got["status"] != float64(200); {
		got = do(http.MethodGet, urls[0]+"?vsn=2.0.0&token="+token, "")
	}

	roundTrip := func(base string, i int) time.Duration {
		start := time.Now()
		ref := fmt.Sprint(i + 2)
		if r := do(http.MethodPost, base+"?vsn=2.0.0&token="+token, `["1","`+ref+`","room:bench","echo",{}]`); r["status"] != float64(200) {
			b.Fatalf("POST: %v", r)
		}
		for {
			r := do(http.MethodGet, base+"?vsn=2.0.0&token="+token, "")
			if r["status"] == float64(200) {
				break
			}
		}
		return time.Since(start)
	}
	var direct, relay []time.Duration
	b.ResetTimer()
	for i := range b.N {
		// Alternate, so that both see the same conditions.
		direct = append(direct, roundTrip(urls[0], 2*i))
		relay = append(relay, roundTrip(urls[1], 2*i+1))
	}
	b.StopTimer()
	pct := func(d []time.Duration, p float64) time.Duration {
		slices.Sort(d)
		return d[min(len(d)-1, int(float64(len(d))*p))]
	}
	b.ReportMetric(float64(pct(direct, .5).Microseconds()), "direct-p50-µs")
	b.ReportMetric(float64(pct(direct, .99).Microseconds()), "direct-p99-µs")
	b.ReportMetric(float64(pct(relay, .5).Microseconds()), "relay-p50-µs")
	b.ReportMetric(float64(pct(relay, .99).Microseconds()), "relay-p99-µs")
	b.ReportMetric(float64(pct(relay, .99))/float64(pct(direct, .99)), "p99-ratio")
}
