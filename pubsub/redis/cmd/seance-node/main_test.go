package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/seance-go/seance/pubsub/internal/adaptertest"
	"github.com/seance-go/seance/pubsub/internal/clustertest"
	psredis "github.com/seance-go/seance/pubsub/redis"
	"github.com/seance-go/seance/pubsub/redis/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 20 * time.Second

// proc is one seance-node process.
type proc struct{ *clustertest.Proc }

// startProc starts seance-node name on the Redis at redisAddr with args,
// and waits until it is connected.
func startProc(t *testing.T, bin, redisAddr, name string, args ...string) *proc {
	t.Helper()
	p := &proc{clustertest.Start(t, bin, name, append([]string{"-redis", redisAddr}, args...)...)}
	adaptertest.WaitFor(t, wait, name+" connected to Redis", func() bool { return p.stats(t).Connected })
	return p
}

func (p *proc) stats(t *testing.T) psredis.Stats {
	t.Helper()
	var st psredis.Stats
	p.Get(t, "/stats", &st)
	return st
}

// waitSubscribed waits until both nodes are subscribed to topic in Redis
// (Topics mode): the engine subscribes a node after it has queued the join
// reply, so the reply alone does not prove the node hears other nodes yet.
func waitSubscribed(t *testing.T, rdb *goredis.Client, mode, topic string, n int64) {
	t.Helper()
	if mode != "topics" {
		return
	}
	ch := "seance:t:" + topic
	adaptertest.WaitFor(t, wait, fmt.Sprintf("%d Redis subscribers of %s", n, ch), func() bool {
		m, err := rdb.PubSubNumSub(context.Background(), ch).Result()
		return err == nil && m[ch] == n
	})
}

// Two seance-node processes share a Redis the test starts: clients on
// different nodes see each other's broadcasts, a REST broadcast on one node
// reaches the other's clients, LiveState counters on both nodes react to one
// broadcast, and after Redis is killed and restarted on the same port the
// nodes carry broadcasts again without crashing.
func TestTwoNodes(t *testing.T) {
	bin := clustertest.Build(t, t.TempDir())
	for _, mode := range []string{"topics", "bus"} {
		t.Run(mode, func(t *testing.T) { testTwoNodes(t, bin, mode) })
	}
}

func testTwoNodes(t *testing.T, bin, mode string) {
	srv := redistest.Start(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer rdb.Close()
	n1 := startProc(t, bin, srv.Addr, "n1", "-mode", mode)
	n2 := startProc(t, bin, srv.Addr, "n2", "-mode", mode)

	c1, c2 := clustertest.TwoNodes(t, n1.Proc, n2.Proc, func(topic string) { waitSubscribed(t, rdb, mode, topic, 2) })
	const room, counter = clustertest.Room, clustertest.Counter

	// Redis dies: no crash; a REST broadcast is delivered locally at once
	// and its lost fan-out is counted.
	srv.Stop()
	adaptertest.WaitFor(t, wait, "both nodes to notice the outage", func() bool {
		return !n1.stats(t).Connected && !n2.stats(t).Connected
	})
	if st := n2.Broadcast(t, room, "during", `{}`); st != http.StatusOK {
		t.Errorf("REST broadcast while Redis is down: HTTP %d, want 200", st)
	}
	adaptertest.WaitFor(t, wait, "n2 to count the failed publish", func() bool { return n2.stats(t).PublishErrors > 0 })

	// Redis comes back on the same port: both nodes reconnect and resubscribe
	// by themselves and broadcasts flow again, both ways.
	srv.Restart()
	adaptertest.WaitFor(t, wait, "both nodes to reconnect", func() bool {
		return n1.stats(t).Reconnects == 1 && n2.stats(t).Reconnects == 1
	})
	clustertest.WaitResumed(t, n2.Proc, c1, room)
	clustertest.WaitResumed(t, n1.Proc, c2, room)
	if st := n1.Broadcast(t, counter, "inc", `{"by":10}`); st != http.StatusOK {
		t.Fatalf("REST inc after the restart: HTTP %d", st)
	}
	c1.CounterValue(counter, 17)
	c2.CounterValue(counter, 17)
	n1.CheckAlive(t)
	n2.CheckAlive(t)
}

// Three seance-node processes on one Redis behind a round-robin proxy that
// alternates nodes per request: phoenix.js long-poll, in Node and in
// headless Chromium, works without sticky sessions, survives its owner's
// death, and a disconnect by socket id on one node closes the user's
// sockets on the others, both transports. The nodes run with -join-awaits
// (join replies wait for Redis to confirm the subscription), which
// phoenix.js 1.7 and 1.8 take as any join reply; the NATS nodes of the
// same scenario run without it.
func TestCluster(t *testing.T) {
	bin := clustertest.Build(t, t.TempDir())
	for _, leg := range clustertest.Legs() {
		for _, pkg := range []string{"phoenix", "phoenix17"} {
			t.Run(leg.Name+"/"+pkg, func(t *testing.T) {
				srv := redistest.Start(t)
				clustertest.Scenario(t, leg.Run, pkg, func(name string) *clustertest.Proc {
					return clustertest.Start(t, bin, name, "-redis", srv.Addr, "-secret", clusterSecret, "-join-awaits", "5s")
				})
			})
		}
	}
}

const clusterSecret = "a test secret of at least thirty-two bytes"

// A hung Redis (the process stopped, its connections open) stalls nothing
// a client waits for: over real WebSockets, joins of three new topics and a
// heartbeat behind them are answered, and 250 REST broadcasts all reach the
// local client, while Redis is still stopped (it would resume by itself
// after 10s, failing the test). Once it resumes, broadcasts cross nodes
// again, on the new topics too.
func TestHungRedis(t *testing.T) {
	bin := clustertest.Build(t, t.TempDir())
	srv := redistest.Start(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer rdb.Close()
	n1 := startProc(t, bin, srv.Addr, "n1", "-mode", "topics")
	n2 := startProc(t, bin, srv.Addr, "n2", "-mode", "topics")
	c1, c2 := clustertest.Dial(t, n1.Proc, "c1"), clustertest.Dial(t, n2.Proc, "c2")
	const room = "room:lobby"
	c1.Join(room)
	c2.Join(room)
	waitSubscribed(t, rdb, "topics", room, 2)

	srv.Pause()
	var mu sync.Mutex
	resumed := false
	stall := time.AfterFunc(10*time.Second, func() {
		mu.Lock()
		resumed = true
		mu.Unlock()
		srv.Resume()
	})
	defer func() {
		if stall.Stop() {
			srv.Resume()
		}
	}()
	stillStopped := func(what string) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if resumed {
			t.Fatalf("%s only after Redis had resumed", what)
		}
	}

	var refs []string
	for i := range 3 {
		refs = append(refs, c1.Push("", fmt.Sprintf("room:new%d", i), "phx_join", map[string]any{}))
	}
	hb := c1.Push("", "phoenix", "heartbeat", map[string]any{})
	for i, ref := range refs {
		topic := fmt.Sprintf("room:new%d", i)
		c1.Expect("join reply on "+topic, func(f clustertest.Frame) bool {
			return f.Topic == topic && f.Event == "phx_reply" && f.Ref != nil && *f.Ref == ref
		})
	}
	c1.Expect("heartbeat reply", func(f clustertest.Frame) bool {
		return f.Topic == "phoenix" && f.Event == "phx_reply" && f.Ref != nil && *f.Ref == hb
	})
	stillStopped("the joins and the heartbeat were answered")

	received := make(chan int, 1)
	go func() {
		n := 0
		for n < 250 {
			select {
			case f, ok := <-c1.Frames:
				if !ok {
					received <- n
					return
				}
				if f.Topic == room && f.Event == "local" && string(f.Payload) == fmt.Sprintf(`{"i":%d}`, n) {
					n++
				}
			case <-time.After(wait):
				received <- n
				return
			}
		}
		received <- n
	}()
	for i := range 250 {
		if st := n1.Broadcast(t, room, "local", fmt.Sprintf(`{"i":%d}`, i)); st != http.StatusOK {
			t.Fatalf("REST broadcast %d during the stall: HTTP %d", i, st)
		}
	}
	if n := <-received; n != 250 {
		t.Fatalf("c1 received %d of 250 local broadcasts in order", n)
	}
	stillStopped("the local broadcasts were delivered")

	if stall.Stop() {
		srv.Resume()
	}
	clustertest.WaitResumed(t, n2.Proc, c1, "room:new0")
	clustertest.WaitResumed(t, n1.Proc, c2, room)
	n1.CheckAlive(t)
	n2.CheckAlive(t)
}

// Three seance-node processes share a Redis and one shared board (see
// clustertest.SharedBoard): concurrent events from every node converge
// without version gaps; the owner is SIGKILLed mid-stream and another node
// takes over with a state:change.
func TestSharedBoardThreeNodes(t *testing.T) {
	bin := clustertest.Build(t, t.TempDir())
	srv := redistest.Start(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer rdb.Close()
	var procs []*clustertest.Proc
	for i := range 3 {
		name := fmt.Sprintf("n%d", i+1)
		p := startProc(t, bin, srv.Addr, name, "-shared-ttl", "1s")
		procs = append(procs, p.Proc)
	}
	clustertest.SharedBoard(t, procs, func(topic string, n int) { waitSubscribed(t, rdb, "topics", topic, int64(n)) })
}

// Three seance-node processes share a Redis and one shared board; clients
// on every node push events concurrently and the owner is SIGKILLed
// mid-stream (see clustertest.SharedTakeover): another node takes over
// within the bound, every client converges without a version gap or
// repeat, and a spy subscriber of Redis sees no version published by two
// nodes.
func TestSharedTakeoverUnderLoad(t *testing.T) {
	sharedTakeover(t, clustertest.TakeoverOptions{})
}

// sharedTakeover runs clustertest.SharedTakeover on three seance-node
// processes sharing a Redis, with -shared-snapshots when opts.Snapshot.
func sharedTakeover(t *testing.T, opts clustertest.TakeoverOptions) {
	bin := clustertest.Build(t, t.TempDir())
	srv := redistest.Start(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer rdb.Close()
	pubs := spyRedis(t, rdb)
	args := []string{"-shared-ttl", "1s"}
	if opts.Snapshot {
		args = append(args, "-shared-snapshots")
	}
	var procs []*clustertest.Proc
	for i := range 3 {
		procs = append(procs, startProc(t, bin, srv.Addr, fmt.Sprintf("n%d", i+1), args...).Proc)
	}
	clustertest.SharedTakeover(t, procs, func(topic string, n int) { waitSubscribed(t, rdb, "topics", topic, int64(n)) }, pubs, opts)
}

// spyRedis records every message published on Redis until the end of the
// test.
func spyRedis(t *testing.T, rdb *goredis.Client) *clustertest.Publications {
	t.Helper()
	pubs := clustertest.NewPublications()
	ctx := context.Background()
	sub := rdb.PSubscribe(ctx, "*")
	if _, err := sub.Receive(ctx); err != nil { // the subscription's confirmation
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range sub.Channel() {
			pubs.Add([]byte(m.Payload))
		}
	}()
	t.Cleanup(func() { sub.Close(); <-done })
	return pubs
}

// TestSharedTakeoverUnderLoad with -shared-snapshots: the new owner starts
// from the last state the SIGKILLed owner stored in Redis, its versions
// going on, instead of Init.
func TestSharedTakeoverFromSnapshot(t *testing.T) {
	sharedTakeover(t, clustertest.TakeoverOptions{Snapshot: true, SnapshotEvery: 100})
}

// Every Redis connection of the owner (its PubSub and its leases) goes
// through a proxy that stops forwarding mid-stream (see
// clustertest.SharedStalled; pubsub/redis's TestSharedStalledOwner stalls
// the lease connection alone). Another node takes over; when the link
// resumes, the updates the stalled node had queued reach Redis late with
// its old token and are refused (fencing), it publishes nothing newer, and
// its client converges.
func TestSharedStalledOwnerLink(t *testing.T) {
	bin := clustertest.Build(t, t.TempDir())
	srv := redistest.Start(t)
	proxy := redistest.NewProxy(t, srv.Addr)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer rdb.Close()
	pubs := spyRedis(t, rdb)
	var procs []*clustertest.Proc
	for i := range 3 {
		name := fmt.Sprintf("n%d", i+1)
		addr := srv.Addr
		if i == 0 {
			addr = proxy.Addr
		}
		p := startProc(t, bin, addr, name, "-shared-ttl", "1s")
		procs = append(procs, p.Proc)
	}
	clustertest.SharedStalled(t, procs, proxy.Stall, proxy.Resume, func(topic string, n int) { waitSubscribed(t, rdb, "topics", topic, int64(n)) }, pubs, 5*time.Second)
}

// Every Redis connection of a follower node goes through a proxy that
// black-holes them while the owner sends its last two updates (see
// clustertest.SharedLostLastUpdates): the owner's later confirmation brings
// that node's client the state it missed. With -shared-confirm -1s the
// client stays behind and the test fails (SEANCE_SHARED_CONFIRM=-1s).
func TestSharedLostLastUpdates(t *testing.T) {
	bin := clustertest.Build(t, t.TempDir())
	srv := redistest.Start(t)
	proxy := redistest.NewProxy(t, srv.Addr)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer rdb.Close()
	var procs []*clustertest.Proc
	for i, addr := range []string{srv.Addr, proxy.Addr} {
		var args []string
		if v := os.Getenv("SEANCE_SHARED_CONFIRM"); v != "" { // -1s: see it fail without confirmations
			args = []string{"-shared-confirm", v}
		}
		p := startProc(t, bin, addr, fmt.Sprintf("n%d", i+1), args...)
		procs = append(procs, p.Proc)
	}
	clustertest.SharedLostLastUpdates(t, procs, proxy.Stall, proxy.Resume, func(topic string, n int) { waitSubscribed(t, rdb, "topics", topic, int64(n)) })
}

// A node started with -join-awaits answers a join once Redis has
// confirmed the subscription: n2's broadcast right after the reply arrives
// (clustertest.JoinAwaitsSubscription), also after n1's Redis link was
// black-holed during the join.
func TestJoinAwaitsSubscription(t *testing.T) {
	bin := clustertest.Build(t, t.TempDir())
	srv := redistest.Start(t)
	proxy := redistest.NewProxy(t, srv.Addr)
	n1 := startProc(t, bin, proxy.Addr, "n1", "-join-awaits", "30s")
	n2 := startProc(t, bin, srv.Addr, "n2")
	clustertest.JoinAwaitsSubscription(t, n1.Proc, n2.Proc, proxy.Stall, proxy.Resume)
}
