package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
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

	c1, c2 := clustertest.TwoNodes(t, n1.Proc, n2.Proc, func(topic string) { waitSubscribed(t, srv, topic, 2) })
	const room = clustertest.Room

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
	clustertest.WaitResumed(t, n2.Proc, c1, room)
	clustertest.WaitResumed(t, n1.Proc, c2, room)
	n1.CheckAlive(t)
	n2.CheckAlive(t)
}

// Three seance-node processes on one NATS server behind a round-robin proxy
// that alternates nodes per request: phoenix.js long-poll, in Node and in
// headless Chromium, works without sticky sessions, survives its owner's
// death, and a disconnect by socket id on one node closes the user's
// sockets on the others, both transports.
func TestCluster(t *testing.T) {
	bin := clustertest.Build(t, t.TempDir())
	for _, leg := range clustertest.Legs() {
		for _, pkg := range []string{"phoenix", "phoenix17"} {
			t.Run(leg.Name+"/"+pkg, func(t *testing.T) {
				srv := natstest.Start(t)
				clustertest.Scenario(t, leg.Run, pkg, func(name string) *clustertest.Proc {
					return startProc(t, bin, srv, name).Proc
				})
			})
		}
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

// Three seance-node processes share a NATS server with JetStream and one
// shared board; clients on every node push events concurrently and the
// owner is SIGKILLed mid-stream (see clustertest.SharedTakeover): another
// node takes over within the bound, every client converges without a
// version gap or repeat, and a spy subscriber of NATS sees no version
// published by two nodes.
func TestSharedTakeoverUnderLoad(t *testing.T) {
	sharedTakeover(t, clustertest.TakeoverOptions{})
}

// sharedTakeover runs clustertest.SharedTakeover on three seance-node
// processes sharing a NATS server, with -shared-snapshots when
// opts.Snapshot.
func sharedTakeover(t *testing.T, opts clustertest.TakeoverOptions) {
	bin := clustertest.Build(t, t.TempDir())
	srv := natstest.StartJetStream(t)
	pubs := spyNATS(t, srv)
	args := []string{"-shared-ttl", "1s"}
	if opts.Snapshot {
		args = append(args, "-shared-snapshots")
	}
	var procs []*clustertest.Proc
	for i := range 3 {
		procs = append(procs, startProc(t, bin, srv, fmt.Sprintf("n%d", i+1), args...).Proc)
	}
	clustertest.SharedTakeover(t, procs, func(topic string, n int) { waitSubscribed(t, srv, topic, n) }, pubs, opts)
}

// spyNATS records every message published on NATS until the end of the
// test.
func spyNATS(t *testing.T, srv *natstest.Server) *clustertest.Publications {
	t.Helper()
	pubs := clustertest.NewPublications()
	nc, err := nats.Connect(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if _, err := nc.Subscribe(">", func(m *nats.Msg) { pubs.Add(m.Data) }); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return pubs
}

// The NATS twin of pubsub/redis's TestSharedStalledOwner, with real
// processes: the owner's connections to NATS (its PubSub and its leases)
// go through a proxy that stops forwarding mid-stream (see
// clustertest.SharedStalled). Another node takes over; when the link
// resumes nothing the stalled node publishes is admitted (fencing) and its
// client converges on the new owner's state.
func TestSharedStalledOwner(t *testing.T) {
	bin := clustertest.Build(t, t.TempDir())
	srv := natstest.StartJetStream(t)
	proxy := adaptertest.NewProxy(t, srv.Addr)
	pubs := spyNATS(t, srv)
	var procs []*clustertest.Proc
	for i := range 3 {
		name := fmt.Sprintf("n%d", i+1)
		url := srv.URL
		if i == 0 {
			url = "nats://" + proxy.Addr
		}
		p := &proc{clustertest.Start(t, bin, name, "-nats", url, "-secret", clusterSecret, "-shared-ttl", "1s")}
		adaptertest.WaitFor(t, wait, name+" connected to NATS", func() bool { return p.stats(t).Connected })
		procs = append(procs, p.Proc)
	}
	clustertest.SharedStalled(t, procs, proxy.Stall, proxy.Resume, func(topic string, n int) { waitSubscribed(t, srv, topic, n) }, pubs, 5*time.Second)
}

// TestSharedTakeoverUnderLoad with -shared-snapshots: the new owner starts
// from the last state the SIGKILLed owner stored in a JetStream KV bucket,
// its versions going on, instead of Init.
func TestSharedTakeoverFromSnapshot(t *testing.T) {
	sharedTakeover(t, clustertest.TakeoverOptions{Snapshot: true, SnapshotEvery: 100})
}

// The NATS twin of the Redis command's TestSharedLostLastUpdates: a
// follower node's connection to NATS goes through a proxy that black-holes
// it while the owner sends its last two updates; the owner's later
// confirmation brings that node's client the state it missed.
func TestSharedLostLastUpdates(t *testing.T) {
	bin := clustertest.Build(t, t.TempDir())
	srv := natstest.StartJetStream(t)
	proxy := adaptertest.NewProxy(t, srv.Addr)
	var procs []*clustertest.Proc
	for i, url := range []string{srv.URL, "nats://" + proxy.Addr} {
		name := fmt.Sprintf("n%d", i+1)
		args := []string{"-nats", url, "-secret", clusterSecret, "-shared-ttl", "3s"}
		if v := os.Getenv("SEANCE_SHARED_CONFIRM"); v != "" {
			args = append(args, "-shared-confirm", v) // -1s: see it fail without confirmations
		}
		p := &proc{clustertest.Start(t, bin, name, args...)}
		adaptertest.WaitFor(t, wait, name+" connected to NATS", func() bool { return p.stats(t).Connected })
		procs = append(procs, p.Proc)
	}
	clustertest.SharedLostLastUpdates(t, procs, proxy.Stall, proxy.Resume, func(topic string, n int) { waitSubscribed(t, srv, topic, n) })
}

// A node started with -join-awaits answers a join once NATS has confirmed
// the subscription: n2's broadcast right after the reply arrives
// (clustertest.JoinAwaitsSubscription), also after n1's NATS link was
// black-holed during the join.
func TestJoinAwaitsSubscription(t *testing.T) {
	bin := clustertest.Build(t, t.TempDir())
	srv := natstest.StartJetStream(t)
	proxy := adaptertest.NewProxy(t, srv.Addr)
	var procs []*proc
	for i, url := range []string{"nats://" + proxy.Addr, srv.URL} {
		name := fmt.Sprintf("n%d", i+1)
		args := []string{"-nats", url}
		if i == 0 {
			args = append(args, "-join-awaits", "30s")
		}
		p := &proc{clustertest.Start(t, bin, name, args...)}
		adaptertest.WaitFor(t, wait, name+" connected to NATS", func() bool { return p.stats(t).Connected })
		procs = append(procs, p)
	}
	clustertest.JoinAwaitsSubscription(t, procs[0].Proc, procs[1].Proc, proxy.Stall, proxy.Resume)
}
