package redis_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/pubsub/internal/adaptertest"
	psredis "github.com/seance-go/seance/pubsub/redis"
	"github.com/seance-go/seance/pubsub/redis/internal/redistest"
)

// The benchmarks compare the two modes on the two shapes of workload that
// decide between them, against a baseline of raw go-redis PUBLISH →
// SUBSCRIBE measured on the same Redis in the same run:
//
//   - sparse, sparse16: 4 or 16 nodes, 10,000 topics, each topic
//     subscribed on one node (many small rooms): a broadcast is useful to
//     one node only;
//   - dense: 16 nodes, 10 topics, every node subscribed to every topic
//     (few big rooms): a broadcast is useful to 15 nodes.
//
// Each runs a latency benchmark (one broadcast at a time, p50/p99 from
// Publish to delivery on the receiving node) and a throughput benchmark
// (64 concurrent publishers; useful deliveries per second). The baselines
// have 1 subscriber (compare with sparse) and 15 (compare with dense). Both also report
// Redis CPU time per broadcast (INFO cpu), this process's CPU time per
// broadcast (all nodes together: publishing, receiving, decoding) and how
// many messages nodes received for topics they do not serve ("wasted/op").
//
//	go test -run '^$' -bench . -benchtime 20000x ./
//
// A node here is one adapter with its own Redis connections in this process;
// the "hub" is a set of topics, as the endpoint's hub drops broadcasts for
// topics without local subscribers.

type scenario struct {
	name          string
	nodes, topics int
	subscribers   func(topic int) []int // nodes (≥1; node 0 publishes) serving topic
}

var scenarios = []scenario{
	{"sparse", 4, 10000, func(t int) []int { return []int{1 + t%3} }},
	{"sparse16", 16, 10000, func(t int) []int { return []int{1 + t%15} }},
	{"dense", 16, 10, func(int) []int {
		s := make([]int, 15)
		for i := range s {
			s[i] = i + 1
		}
		return s
	}},
}

// payload is a broadcast body of about 100 bytes starting with the send time.
func payload(base time.Time) []byte {
	b := make([]byte, 8, 104)
	binary.BigEndian.PutUint64(b, uint64(time.Since(base)))
	return append(b, strings.Repeat("x", 96)...)
}

func sentAt(base time.Time, p []byte) time.Duration {
	return time.Since(base) - time.Duration(binary.BigEndian.Uint64(p))
}

// recorder collects delivery latencies and signals each useful delivery.
type recorder struct {
	base      time.Time
	mu        sync.Mutex
	lat       []time.Duration
	useful    atomic.Int64
	wasted    atomic.Int64
	delivered chan struct{}
}

func newRecorder() *recorder {
	return &recorder{base: time.Now(), delivered: make(chan struct{}, 1<<20)}
}

func (r *recorder) record(p []byte) {
	d := sentAt(r.base, p)
	r.mu.Lock()
	r.lat = append(r.lat, d)
	r.mu.Unlock()
	r.useful.Add(1)
	select {
	case r.delivered <- struct{}{}:
	default:
	}
}

func (r *recorder) await(b *testing.B, n int) {
	timeout := time.After(30 * time.Second)
	for range n {
		select {
		case <-r.delivered:
		case <-timeout:
			b.Fatalf("deliveries stopped: %d useful so far", r.useful.Load())
		}
	}
}

func (r *recorder) report(b *testing.B) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.lat) == 0 {
		return
	}
	slices.Sort(r.lat)
	q := func(f float64) float64 { return float64(r.lat[int(f*float64(len(r.lat)-1))].Microseconds()) }
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
}

// redisCPU returns Redis's user+system CPU time.
func redisCPU(b *testing.B, rdb *goredis.Client) time.Duration {
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && (k == "used_cpu_user" || k == "used_cpu_sys") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

// cpuMeter reports Redis's and this process's CPU time per operation.
type cpuMeter struct {
	rdb         *goredis.Client
	redis, proc time.Duration
}

func startCPU(b *testing.B, rdb *goredis.Client) *cpuMeter {
	return &cpuMeter{rdb: rdb, redis: redisCPU(b, rdb), proc: processCPU()}
}

func (m *cpuMeter) report(b *testing.B) {
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) / 1e3 }
	b.ReportMetric(per(redisCPU(b, m.rdb)-m.redis), "redis-µs/op")
	b.ReportMetric(per(processCPU()-m.proc), "go-cpu-µs/op")
}

// cluster is the scenario's nodes, subscribed and running.
type cluster struct {
	nodes  []*psredis.PubSub
	fanout func(topic int) int
	rec    *recorder
}

func startCluster(b *testing.B, addr string, mode psredis.Mode, sc scenario) *cluster {
	b.Helper()
	c := &cluster{rec: newRecorder(), fanout: func(t int) int { return len(sc.subscribers(t)) }}
	serves := make([]map[string]bool, sc.nodes)
	for i := range serves {
		serves[i] = map[string]bool{}
	}
	for t := range sc.topics {
		for _, n := range sc.subscribers(t) {
			serves[n]["t"+strconv.Itoa(t)] = true
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	b.Cleanup(func() {
		cancel()
		wg.Wait()
		for _, n := range c.nodes {
			n.Close()
		}
	})
	for i := range sc.nodes {
		ps, err := psredis.New(psredis.Options{Addr: addr, Node: fmt.Sprint("n", i), Mode: mode, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		c.nodes = append(c.nodes, ps)
		mine := serves[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = ps.Run(ctx, func(e *phx.Envelope) {
				if mine[e.Topic] {
					c.rec.record(e.Payload)
				} else {
					c.rec.wasted.Add(1)
				}
			})
		}()
		adaptertest.WaitFor(b, adaptertest.Wait, "connected", func() bool { return ps.Stats().Connected })
		for t := range mine {
			if err := ps.Subscribe(ctx, t); err != nil {
				b.Fatal(err)
			}
		}
	}
	return c
}

func BenchmarkLatency(b *testing.B) {
	srv := redistest.Start(b)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer rdb.Close()
	for _, subs := range []int{1, 15} {
		b.Run(fmt.Sprintf("baseline-raw-go-redis/%dsubs", subs), func(b *testing.B) {
			rec := newRecorder()
			for range subs {
				defer rawSubscriber(b, srv.Addr, "raw", rec)()
			}
			ctx := context.Background()
			cpu := startCPU(b, rdb)
			b.ResetTimer()
			for range b.N {
				if err := rdb.Publish(ctx, "raw", payload(rec.base)).Err(); err != nil {
					b.Fatal(err)
				}
				rec.await(b, subs)
			}
			b.StopTimer()
			rec.report(b)
			cpu.report(b)
		})
	}
	for _, sc := range scenarios {
		for _, mode := range []psredis.Mode{psredis.Topics, psredis.Bus} {
			b.Run(sc.name+"/"+mode.String(), func(b *testing.B) {
				c := startCluster(b, srv.Addr, mode, sc)
				ctx := context.Background()
				pub := c.nodes[0]
				cpu := startCPU(b, rdb)
				b.ResetTimer()
				for i := range b.N {
					t := i % sc.topics
					err := pub.Publish(ctx, &phx.Envelope{FromNode: pub.NodeName(), Topic: "t" + strconv.Itoa(t), Event: "e", Payload: payload(c.rec.base)})
					if err != nil {
						b.Fatal(err)
					}
					c.rec.await(b, c.fanout(t))
				}
				b.StopTimer()
				c.rec.report(b)
				cpu.report(b)
				b.ReportMetric(float64(c.rec.wasted.Load())/float64(b.N), "wasted/op")
			})
		}
	}
}

func BenchmarkThroughput(b *testing.B) {
	srv := redistest.Start(b)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer rdb.Close()
	const publishers = 64
	run := func(b *testing.B, rec *recorder, fanout func(i int) int, publish func(i int) error) {
		cpu := startCPU(b, rdb)
		want := 0
		for i := range b.N {
			want += fanout(i)
		}
		b.ResetTimer()
		start := time.Now()
		var next atomic.Int64
		var wg sync.WaitGroup
		for range publishers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= b.N {
						return
					}
					if err := publish(i); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		rec.await(b, want)
		elapsed := time.Since(start)
		b.StopTimer()
		b.ReportMetric(float64(want)/elapsed.Seconds(), "deliveries/s")
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "broadcasts/s")
		cpu.report(b)
		rec.report(b)
	}
	for _, subs := range []int{1, 15} {
		b.Run(fmt.Sprintf("baseline-raw-go-redis/%dsubs", subs), func(b *testing.B) {
			rec := newRecorder()
			for range subs {
				defer rawSubscriber(b, srv.Addr, "raw", rec)()
			}
			ctx := context.Background()
			run(b, rec, func(int) int { return subs }, func(int) error {
				return rdb.Publish(ctx, "raw", payload(rec.base)).Err()
			})
		})
	}
	for _, sc := range scenarios {
		for _, mode := range []psredis.Mode{psredis.Topics, psredis.Bus} {
			b.Run(sc.name+"/"+mode.String(), func(b *testing.B) {
				c := startCluster(b, srv.Addr, mode, sc)
				ctx := context.Background()
				pub := c.nodes[0]
				run(b, c.rec, func(i int) int { return c.fanout(i % sc.topics) }, func(i int) error {
					return pub.Publish(ctx, &phx.Envelope{FromNode: pub.NodeName(), Topic: "t" + strconv.Itoa(i%sc.topics), Event: "e", Payload: payload(c.rec.base)})
				})
				b.ReportMetric(float64(c.rec.wasted.Load())/float64(b.N), "wasted/op")
			})
		}
	}
}

// BenchmarkSubscribe measures what a topic's first local subscriber costs
// (Subscribe, confirmed by Redis) and its last one leaving (Unsubscribe).
func BenchmarkSubscribe(b *testing.B) {
	srv := redistest.Start(b)
	for _, mode := range []psredis.Mode{psredis.Topics, psredis.Bus} {
		b.Run(mode.String(), func(b *testing.B) {
			ps, err := psredis.New(psredis.Options{Addr: srv.Addr, Node: "n", Mode: mode, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			defer ps.Close()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = ps.Run(ctx, func(*phx.Envelope) {}) }()
			defer func() { cancel(); <-done }()
			adaptertest.WaitFor(b, adaptertest.Wait, "connected", func() bool { return ps.Stats().Connected })
			b.ResetTimer()
			for i := range b.N {
				topic := "s" + strconv.Itoa(i)
				if err := ps.Subscribe(ctx, topic); err != nil {
					b.Fatal(err)
				}
				if err := ps.Unsubscribe(ctx, topic); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// rawSubscriber receives channel ch with plain go-redis and records each
// message's latency.
func rawSubscriber(b *testing.B, addr, ch string, rec *recorder) (stop func()) {
	sub := goredis.NewClient(&goredis.Options{Addr: addr})
	ps := sub.Subscribe(context.Background(), ch)
	if _, err := ps.Receive(context.Background()); err != nil { // the confirmation
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := ps.ReceiveMessage(context.Background())
			if err != nil {
				return
			}
			rec.record([]byte(m.Payload))
		}
	}()
	return func() {
		ps.Close()
		<-done
		sub.Close()
	}
}
