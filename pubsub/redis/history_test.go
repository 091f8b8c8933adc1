package redis_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seance-go/seance/history"
	"github.com/seance-go/seance/internal/historytest"
	"github.com/seance-go/seance/internal/sessiontest"
	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/pubsub/redis"
	"github.com/seance-go/seance/pubsub/redis/internal/redistest"
)

// TestHistoryStore runs the history.Store checks against a real
// redis-server; losing a stream deletes its keys.
func TestHistoryStore(t *testing.T) {
	srv := redistest.Start(t)
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	t.Cleanup(func() { c.Close() })
	historytest.Conformance(t, historytest.Config{
		New: func(t *testing.T, maxEntries int, maxAge time.Duration) history.Store {
			h, err := redis.NewHistory(redis.HistoryOptions{Client: c, MaxEntries: maxEntries, MaxAge: maxAge})
			if err != nil {
				t.Fatal(err)
			}
			return h
		},
		Lose: func(t *testing.T, _ history.Store, topic string) {
			base := "seance:hist:{" + topic + "}:"
			if err := c.Del(context.Background(), base+"s", base+"m").Err(); err != nil {
				t.Fatal(err)
			}
		},
	})
}

// TestHistoryNeedsClient: a History without a client is refused.
func TestHistoryNeedsClient(t *testing.T) {
	if _, err := redis.NewHistory(redis.HistoryOptions{}); err == nil {
		t.Fatal("NewHistory without a Client succeeded")
	}
}

// TestHistoryHungRedis: with Redis black-holed, a rejoin that asks to
// recover is answered {"recovered": false} after RecoverTimeout, while the
// connection's other pushes are answered at once: nothing waits on Redis
// on the connection's reader.
func TestHistoryHungRedis(t *testing.T) {
	srv := redistest.Start(t)
	proxy := redistest.NewProxy(t, srv.Addr)
	c := goredis.NewClient(&goredis.Options{Addr: proxy.Addr, MaxRetries: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	store, err := redis.NewHistory(redis.HistoryOptions{Client: c})
	if err != nil {
		t.Fatal(err)
	}
	ep := phx.NewEndpoint(phx.Config{Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { ep.Shutdown(context.Background()) })
	hist := history.New(history.Options{Store: store, RecoverTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
	ep.Handle("room:*", hist.Handler(phx.HandlerFuncs{
		InFunc: func(context.Context, *phx.Channel, *phx.Message) (*phx.Reply, error) { return phx.Ok(nil), nil },
	}))
	pos, err := hist.Broadcast(context.Background(), "room:1", "msg", map[string]int{"n": 1})
	if err != nil {
		t.Fatal(err)
	}

	proxy.Stall()
	cl := sessiontest.Open(t, ep, phx.ConnectInfo{Transport: "test"}, phx.V2JSON(), true)
	cl.Send(`["1","1","room:1","phx_join",{"recover":{"epoch":"` + pos.Epoch + `","offset":0}}]`)
	cl.ExpectText(`["1","1","room:1","phx_reply",{"status":"ok","response":{}}]`)
	cl.Send(`["1","2","room:1","ping",{}]`)
	cl.ExpectText(`["1","2","room:1","phx_reply",{"status":"ok","response":{}}]`)
	cl.ExpectText(`["1",null,"room:1","phx_position",{"epoch":"","error":"history unavailable","offset":0,"recovered":false}]`)
}
