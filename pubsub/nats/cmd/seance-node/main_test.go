package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seance-go/seance/pubsub/internal/adaptertest"
	"github.com/seance-go/seance/pubsub/internal/clustertest"
	psnats "github.com/seance-go/seance/pubsub/nats"
	"github.com/seance-go/seance/pubsub/nats/internal/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 20 * time.Second

const clusterSecret = "a test secret of at least thirty-two bytes"

type proc struct{ *clustertest.Proc }

func startProc(t *testing.T, bin string, srv *natstest.Server, name string, args ...string) *proc {
	t.Helper()
	p := &proc{clustertest.Start(t, bin, name, append([]string{"-nats", srv.URL, "-secret", clusterSecret}, args...)...)}
	adaptertest.WaitFor(t, wait, name+" connected to NATS", func() bool { return p.stats(t).Connected })
	return p
}

func (p *proc) stats(t *testing.T) psnats.Stats {
	t.Helper()
	var st psnats.Stats
	p.Get(t, "/stats", &st)
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

// waitSubscribed waits until n nodes subscribed to topic's subject: the
// engine subscribes a node after it has queued the join reply, so the reply
// alone does not prove the node hears other nodes yet.
func waitSubscribed(t *testing.T, srv *natstest.Server, topic string, n int) {
	t.Helper()
	subj := "seance.t._" + base64.RawURLEncoding.EncodeToString([]byte(topic))
	adaptertest.WaitFor(t, wait, fmt.Sprintf("%d subscribers of %s", n, subj), func() bool {
		m, err := srv.Subscribers(subj)
		return err == nil && m == n
	})
}

// Two seance-node processes share a NATS server the test starts: clients on
// different nodes see each other's broadcasts, a REST broadcast on one node
// reaches the other's clients, LiveState counters on both nodes react to one
// broadcast, and after NATS is killed and restarted on the same port the
// nodes carry broadcasts again without crashing.
func TestTwoNodes(t *testing.T) {
	bin := clustertest.Build(t, t.TempDir())
	srv := natstest.Start(t)
	n1 := startProc(t, bin, srv, "n1")
	n2 := startProc(t, bin, srv, "n2")

	c1 := clustertest.Dial(t, n1.Proc, "c1")
	c2 := clustertest.Dial(t, n2.Proc, "c2")
	const room = "room:lobby"
	j1, j2 := c1.Join(room), c2.Join(room)
	waitSubscribed(t, srv, room, 2)

	c1.Push(j1, room, "shout", map[string]string{"body": "from c1"})
	f := c2.Expect("c1's shout", clustertest.IsEvent(room, "shout"))
	if !bytes.Contains(f.Payload, []byte("from c1")) {
		t.Errorf("c2 got %s", f.Payload)
	}
	c2.Push(j2, room, "shout", map[string]string{"body": "from c2"})
	c1.Expect("c2's shout", func(f clustertest.Frame) bool {
		return clustertest.IsEvent(room, "shout")(f) && bytes.Contains(f.Payload, []byte("from c2"))
	})

	if st := n2.broadcast(t, room, "news", `{"headline":"rest"}`); st != http.StatusOK {
		t.Fatalf("REST broadcast: HTTP %d", st)
	}
	f = c1.Expect("REST broadcast from n2", clustertest.IsEvent(room, "news"))
	if !bytes.Contains(f.Payload, []byte(`"rest"`)) {
		t.Errorf("c1 got %s", f.Payload)
	}

	const counter = "counter:shared"
	k1, _ := c1.Join(counter), c2.Join(counter)
	waitSubscribed(t, srv, counter, 2)
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

	// NATS dies and comes back on the same port: no crash, both nodes
	// reconnect and resubscribe by themselves, broadcasts flow both ways.
	srv.Stop()
	adaptertest.WaitFor(t, wait, "both nodes to notice the outage", func() bool {
		return !n1.stats(t).Connected && !n2.stats(t).Connected
	})
	srv.Restart()
	adaptertest.WaitFor(t, wait, "both nodes to reconnect", func() bool {
		return n1.stats(t).Connected && n2.stats(t).Connected
	})
	waitSubscribed(t, srv, room, 2)
	resumed := func(from *proc, to *clustertest.Client, topic string) {
		t.Helper()
		deadline := time.Now().Add(wait)
		for i := 0; ; i++ {
			from.broadcast(t, topic, fmt.Sprintf("after%d", i), `{}`)
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
	n1.CheckAlive(t)
	n2.CheckAlive(t)
}

// Three seance-node processes on one NATS server behind a round-robin proxy
// that alternates nodes per request: phoenix.js long-poll works without
// sticky sessions, survives its owner's death, and a disconnect by socket
// id on one node closes the user's sockets on the others, both transports.
func TestCluster(t *testing.T) {
	bin := clustertest.Build(t, t.TempDir())
	for _, pkg := range []string{"phoenix", "phoenix17"} {
		t.Run(pkg, func(t *testing.T) {
			srv := natstest.Start(t)
			clustertest.Scenario(t, pkg, func(name string) *clustertest.Proc {
				return startProc(t, bin, srv, name).Proc
			})
		})
	}
}

// Three seance-node processes share a NATS server with JetStream and one
// shared board on JetStream KV leases (see clustertest.SharedBoard).
func TestSharedBoardThreeNodes(t *testing.T) {
	bin := clustertest.Build(t, t.TempDir())
	srv := natstest.StartJetStream(t)
	var procs []*clustertest.Proc
	for i := range 3 {
		procs = append(procs, startProc(t, bin, srv, fmt.Sprintf("n%d", i+1), "-shared-ttl", "1s").Proc)
	}
	clustertest.SharedBoard(t, procs, func(topic string, n int) { waitSubscribed(t, srv, topic, n) })
}
