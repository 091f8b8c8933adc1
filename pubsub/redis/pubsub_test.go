package redis_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/seance-go/seance/pubsub/internal/adapter"
	"github.com/seance-go/seance/pubsub/internal/adaptertest"
	"github.com/seance-go/seance/pubsub/internal/presencetest"
	psredis "github.com/seance-go/seance/pubsub/redis"
	"github.com/seance-go/seance/pubsub/redis/internal/redistest"
)

func TestMain(m *testing.M) {
	presencetest.NodeMain(presenceNode) // a presence node process: runs and exits
	goleak.VerifyTestMain(m)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newBroker starts a Redis server and describes it and the adapter (with
// short backoffs) to the conformance suite.
func newBroker(t *testing.T) *adaptertest.Broker {
	srv := redistest.Start(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rdb.Close() })
	return &adaptertest.Broker{
		Server: srv,
		New: func(t *testing.T, node string, mode adapter.Mode) adaptertest.Adapter {
			t.Helper()
			ps, err := psredis.New(psredis.Options{
				Addr: srv.Addr, Node: node, Mode: psredis.Mode(mode), Logger: quiet,
				MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			return ps
		},
		Stats:      func(a adaptertest.Adapter) adapter.Stats { return adapter.Stats(a.(*psredis.PubSub).Stats()) },
		ErrRunning: psredis.ErrRunning,
		RawPublish: func(t *testing.T, mode adapter.Mode, topic string, data []byte) {
			t.Helper()
			ch := "seance:t:" + topic
			if mode == adapter.Bus {
				ch = "seance:bus"
			}
			if err := rdb.Publish(context.Background(), ch, data).Err(); err != nil {
				t.Fatal(err)
			}
		},
		Subscribers: func(t *testing.T, topic string) int {
			t.Helper()
			ch := "seance:t:" + topic
			n, err := rdb.PubSubNumSub(context.Background(), ch).Result()
			if err != nil {
				t.Fatal(err)
			}
			return int(n[ch])
		},
		PublishFailsWhileDown: true,
	}
}

func TestConformance(t *testing.T) { adaptertest.RunConformance(t, newBroker) }

func TestOptions(t *testing.T) {
	if _, err := psredis.New(psredis.Options{Mode: psredis.Mode(7)}); err == nil {
		t.Error("New accepted an unknown mode")
	}
	p, err := psredis.New(psredis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	q, _ := psredis.New(psredis.Options{})
	defer q.Close()
	if p.NodeName() == "" || p.NodeName() == q.NodeName() {
		t.Errorf("default node names %q and %q, want unique", p.NodeName(), q.NodeName())
	}
	if p.Mode() != psredis.Topics {
		t.Errorf("default mode %v", p.Mode())
	}
	for _, s := range []string{"topics", "bus"} {
		m, err := psredis.ParseMode(s)
		if err != nil || m.String() != s {
			t.Errorf("ParseMode(%q) = %v, %v", s, m, err)
		}
	}
	if _, err := psredis.ParseMode("cluster"); err == nil {
		t.Error("ParseMode accepted an unknown mode")
	}
}

// A connection that silently stops carrying anything (a network partition,
// not a closed socket) is detected by the health check and replaced.
func TestSilentConnectionIsReplaced(t *testing.T) {
	br := newBroker(t)
	proxy := redistest.NewProxy(t, br.Server.Addr)
	ps, err := psredis.New(psredis.Options{
		Addr: proxy.Addr, Node: "b", Logger: quiet,
		HealthCheckInterval: 100 * time.Millisecond, MinBackoff: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	b := br.Run(t, ps)
	if err := b.Subscribe(context.Background(), "room"); err != nil {
		t.Fatal(err)
	}

	proxy.Freeze()
	adaptertest.WaitFor(t, adaptertest.Wait, "silent connection replaced", func() bool {
		st := b.Stats()
		return st.Disconnects == 1 && st.Reconnects == 1 && st.Connected
	})
	a := br.Start(t, "a", adapter.Topics)
	a.SendUntil(t, b, "room", "again")
}
