package redis_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	scluster "github.com/seance-go/seance/cluster"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/pubsub/internal/adaptertest"
	psredis "github.com/seance-go/seance/pubsub/redis"
	"github.com/seance-go/seance/pubsub/redis/internal/redistest"
)

type benchCount struct {
	N int `json:"n"`
}

type benchCounter struct{}

func (benchCounter) Init(ctx context.Context, topic string) (benchCount, error) {
	return benchCount{}, nil
}

func (benchCounter) HandleEvent(ctx context.Context, s *livestate.Socket, event string, p phx.Payload, st *benchCount) error {
	st.N++
	return nil
}

// BenchmarkSharedRoundTrip measures a client event's round trip on a
// shared topic spanning two nodes over Redis (push lvs_evt:inc, receive
// its state:patch): for a client of the topic's owner ("owner") and for a
// client of the other node ("forwarded": the event goes to the owner over
// cluster.Node, the patch comes back as the owner's frame).
//
//	go test -run '^$' -bench SharedRoundTrip -benchtime 2000x ./
func BenchmarkSharedRoundTrip(b *testing.B) {
	srv := redistest.Start(b)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	b.Cleanup(func() { rdb.Close() })
	leaser, err := psredis.NewLeaser(psredis.LeaserOptions{Client: rdb})
	if err != nil {
		b.Fatal(err)
	}
	var regs []*livestate.Registry
	for _, name := range []string{"owner", "other"} {
		reg := sharedNode(b, srv.Addr, name, leaser)
		regs = append(regs, reg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	join := func(reg *livestate.Registry, topic string) *phx.Session {
		sess, err := reg.Endpoint().Open(phx.ConnectInfo{Transport: "test"}, phx.V2JSON(), true)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(sess.Detach)
		sess.Receive([]byte(`["1","1","`+topic+`","phx_join",{}]`), false)
		for got := 0; got < 2; { // reply, state:change
			fs, err := sess.Next(ctx)
			if err != nil {
				b.Fatal(err)
			}
			got += len(fs)
		}
		adaptertest.WaitFor(b, 10*time.Second, "the subscription", func() bool { return reg.Endpoint().PubSubStats().Pending == 0 })
		return sess
	}
	roundTrips := func(b *testing.B, sess *phx.Session, topic string) {
		frame := []byte(`["1","2","` + topic + `","lvs_evt:inc",{}]`)
		b.ResetTimer()
		for range b.N {
			sess.Receive(frame, false)
			fs, err := sess.Next(ctx)
			if err != nil || len(fs) != 1 {
				b.Fatalf("%d frames, %v", len(fs), err)
			}
		}
	}
	b.Run("owner", func(b *testing.B) {
		roundTrips(b, join(regs[0], "count:a"), "count:a")
	})
	b.Run("forwarded", func(b *testing.B) {
		owner := join(regs[0], "count:b") // "owner" owns count:b
		go func() {                       // its client drains the updates
			for {
				if _, err := owner.Next(ctx); err != nil {
					return
				}
			}
		}()
		roundTrips(b, join(regs[1], "count:b"), "count:b")
	})
}

// sharedNode starts a node's registry over Redis at addr, serving count:*
// as a shared topic on leaser's leases; it shuts down when the test ends.
func sharedNode(tb testing.TB, addr, name string, leaser scluster.Leaser) *livestate.Registry {
	tb.Helper()
	quiet := slog.New(slog.DiscardHandler)
	ps, err := psredis.New(psredis.Options{Addr: addr, Node: name, Logger: quiet})
	if err != nil {
		tb.Fatal(err)
	}
	reg := livestate.NewRegistry(livestate.Config{
		Engine:          phx.Config{PubSub: ps, Logger: quiet},
		DisableLongPoll: true,
		SharedLeaser:    leaser,
	})
	reg.Handle("count:*", livestate.NewShared[benchCount](benchCounter{}, livestate.Options{MaxVersion: 1 << 30}))
	adaptertest.WaitFor(tb, 10*time.Second, name+" connected", func() bool { return ps.Stats().Connected })
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		reg.Shutdown(ctx)
		ps.Close()
	})
	return reg
}
