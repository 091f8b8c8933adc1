package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
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

func buildNode(t *testing.T, dir string) string { return clustertest.Build(t, dir) }

// proc is one seance-node process.
type proc struct{ *clustertest.Proc }

func startProc(t *testing.T, bin, redisAddr, name, mode string) *proc {
	t.Helper()
	p := &proc{clustertest.Start(t, bin, name, "-redis", redisAddr, "-mode", mode)}
	adaptertest.WaitFor(t, wait, name+" connected to Redis", func() bool { return p.stats(t).Connected })
	return p
}

func (p *proc) stats(t *testing.T) psredis.Stats {
	t.Helper()
	resp, err := http.Get(p.URL + "/stats")
	if err != nil {
		t.Fatalf("%s /stats: %v", p.Name, err)
	}
	defer resp.Body.Close()
	var st psredis.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// broadcast posts to /broadcast and returns the HTTP status.
func (p *proc) broadcast(t *testing.T, topic, event, body string) int {
	t.Helper()
	resp, err := http.Post(p.URL+"/broadcast?topic="+topic+"&event="+event, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s /broadcast: %v", p.Name, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (p *proc) alive(t *testing.T) { t.Helper(); p.CheckAlive(t) }

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
	bin := buildNode(t, t.TempDir())
	for _, mode := range []string{"topics", "bus"} {
		t.Run(mode, func(t *testing.T) { testTwoNodes(t, bin, mode) })
	}
}

func testTwoNodes(t *testing.T, bin, mode string) {
	srv := redistest.Start(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer rdb.Close()
	n1 := startProc(t, bin, srv.Addr, "n1", mode)
	n2 := startProc(t, bin, srv.Addr, "n2", mode)

	c1 := clustertest.Dial(t, n1.Proc, "c1")
	c2 := clustertest.Dial(t, n2.Proc, "c2")
	const room = "room:lobby"
	j1, j2 := c1.Join(room), c2.Join(room)
	waitSubscribed(t, rdb, mode, room, 2)

	// A client on each node sees the other's broadcast.
	c1.Push(j1, room, "shout", map[string]string{"body": "from c1"})
	f := c2.Expect("c1's shout", clustertest.IsEvent(room, "shout"))
	if !bytes.Contains(f.Payload, []byte("from c1")) {
		t.Errorf("c2 got %s", f.Payload)
	}
	c2.Push(j2, room, "shout", map[string]string{"body": "from c2"})
	c1.Expect("c2's shout", func(f clustertest.Frame) bool {
		return clustertest.IsEvent(room, "shout")(f) && bytes.Contains(f.Payload, []byte("from c2"))
	})

	// A REST broadcast on node 2 reaches node 1's client.
	if st := n2.broadcast(t, room, "news", `{"headline":"rest"}`); st != http.StatusOK {
		t.Fatalf("REST broadcast: HTTP %d", st)
	}
	f = c1.Expect("REST broadcast from n2", clustertest.IsEvent(room, "news"))
	if !bytes.Contains(f.Payload, []byte(`"rest"`)) {
		t.Errorf("c1 got %s", f.Payload)
	}

	// LiveState counters on both nodes react to one broadcast.
	const counter = "counter:shared"
	k1, _ := c1.Join(counter), c2.Join(counter)
	waitSubscribed(t, rdb, mode, counter, 2)
	c1.CounterValue(counter, 0)
	c2.CounterValue(counter, 0)
	if st := n2.broadcast(t, counter, "inc", `{"by":5}`); st != http.StatusOK {
		t.Fatalf("REST inc: HTTP %d", st)
	}
	c1.CounterValue(counter, 5)
	c2.CounterValue(counter, 5)
	c1.Push(k1, counter, "lvs_evt:inc", map[string]int{"by": 2})
	c1.CounterValue(counter, 7)
	c2.CounterValue(counter, 7)

	// Redis dies: no crash, a REST broadcast reports the lost fan-out.
	srv.Stop()
	adaptertest.WaitFor(t, wait, "both nodes to notice the outage", func() bool {
		return !n1.stats(t).Connected && !n2.stats(t).Connected
	})
	if st := n2.broadcast(t, room, "during", `{}`); st != http.StatusBadGateway {
		t.Errorf("REST broadcast while Redis is down: HTTP %d, want 502", st)
	}
	if st := n2.stats(t); st.PublishErrors == 0 {
		t.Errorf("n2 counted no publish error: %+v", st)
	}

	// Redis comes back on the same port: both nodes reconnect and resubscribe
	// by themselves and broadcasts flow again, both ways.
	srv.Restart()
	adaptertest.WaitFor(t, wait, "both nodes to reconnect", func() bool {
		return n1.stats(t).Reconnects == 1 && n2.stats(t).Reconnects == 1
	})
	resumed := func(from *proc, to *clustertest.Client, topic string) {
		t.Helper()
		deadline := time.Now().Add(wait)
		for i := 0; ; i++ {
			ev := fmt.Sprintf("after%d", i)
			from.broadcast(t, topic, ev, `{}`)
			select {
			case f := <-to.Frames:
				if f.Topic == topic && strings.HasPrefix(f.Event, "after") {
					return
				}
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("broadcasts on %s from %s did not resume", topic, from.Name)
			}
		}
	}
	resumed(n2, c1, room)
	resumed(n1, c2, room)
	if st := n1.broadcast(t, counter, "inc", `{"by":10}`); st != http.StatusOK {
		t.Fatalf("REST inc after the restart: HTTP %d", st)
	}
	c1.CounterValue(counter, 17)
	c2.CounterValue(counter, 17)
	n1.alive(t)
	n2.alive(t)
}

// Three seance-node processes on one Redis behind a round-robin proxy that
// alternates nodes per request: phoenix.js long-poll works without sticky
// sessions, survives its owner's death, and a disconnect by socket id on
// one node closes the user's sockets on the others, both transports.
func TestCluster(t *testing.T) {
	bin := buildNode(t, t.TempDir())
	for _, pkg := range []string{"phoenix", "phoenix17"} {
		t.Run(pkg, func(t *testing.T) {
			srv := redistest.Start(t)
			clustertest.Scenario(t, pkg, func(name string) *clustertest.Proc {
				return clustertest.Start(t, bin, name, "-redis", srv.Addr, "-secret", clusterSecret)
			})
		})
	}
}

const clusterSecret = "a test secret of at least thirty-two bytes"
