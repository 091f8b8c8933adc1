package redis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/pubsub/internal/adaptertest"
	psredis "github.com/seance-go/seance/pubsub/redis"
	"github.com/seance-go/seance/pubsub/redis/internal/redistest"
)

// boardSession is an in-process client of a shared counter: it follows
// state:change and state:patch like phx-live-state and records every
// version it was given.
type boardSession struct {
	t        *testing.T
	name     string
	sess     *phx.Session
	count    int
	version  int
	changes  int
	versions []string // "c<v>" for a state:change, "p<v>" for a patch
	pending  []phx.Frame
}

func joinSession(t *testing.T, reg *livestate.Registry, name, topic string) *boardSession {
	t.Helper()
	sess, err := reg.Endpoint().Open(phx.ConnectInfo{Transport: "test"}, phx.V2JSON(), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sess.Detach)
	sess.Receive([]byte(`["1","1","`+topic+`","phx_join",{}]`), false)
	return &boardSession{t: t, name: name, sess: sess, changes: -1}
}

// until reads frames until the count is want; a patch must carry the next
// version.
func (b *boardSession) until(want int) {
	b.t.Helper()
	b.read(fmt.Sprintf("count %d", want), func() bool { return b.count == want && b.changes >= 0 })
}

// drain handles the frames that arrive within 20ms.
func (b *boardSession) drain() {
	b.t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		fs, err := b.sess.Next(ctx)
		cancel()
		if err != nil {
			return
		}
		b.pending = append(b.pending, fs...)
		n := len(b.pending)
		i := 0
		b.read("pending frames", func() bool { i++; return i > n })
	}
}

// read handles frames one at a time until done holds.
func (b *boardSession) read(what string, done func() bool) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for !done() {
		if len(b.pending) == 0 {
			fs, err := b.sess.Next(ctx)
			if err != nil {
				b.t.Fatalf("%s: waiting for %s (at %d, versions %v): %v", b.name, what, b.count, b.versions, err)
			}
			b.pending = fs
		}
		f := b.pending[0]
		b.pending = b.pending[1:]
		{
			var a []json.RawMessage
			if json.Unmarshal(f.Data, &a) != nil || len(a) != 5 {
				continue
			}
			var ev string
			_ = json.Unmarshal(a[3], &ev)
			switch ev {
			case "state:change":
				var p struct {
					State   struct{ N int }
					Version int
				}
				_ = json.Unmarshal(a[4], &p)
				b.count, b.version = p.State.N, p.Version
				b.changes++
				b.versions = append(b.versions, fmt.Sprintf("c%d", p.Version))
			case "state:patch":
				var p struct {
					Patch []struct {
						Path  string
						Value int
					}
					Version int
				}
				_ = json.Unmarshal(a[4], &p)
				if p.Version != b.version+1 {
					b.t.Errorf("%s: version %d after %d (versions %v)", b.name, p.Version, b.version, b.versions)
				}
				b.version = p.Version
				b.versions = append(b.versions, fmt.Sprintf("p%d", p.Version))
				for _, op := range p.Patch {
					if op.Path == "/n" {
						b.count = op.Value
					}
				}
			}
		}
	}
}

// TestSharedStalledOwner: the owner's connection to the lease store stops
// forwarding (a proxy black-holes it) while its PubSub works and clients on
// every node keep pushing. The owner stops acting before its lease can
// expire, another node takes over with a state:change, and no client ever
// sees two updates with one version or a patch out of sequence: after the
// takeover nothing of the old owner reaches anyone (fencing), and every
// client, the stalled node's included, ends with the new owner's state.
func TestSharedStalledOwner(t *testing.T) {
	srv := redistest.Start(t)
	proxy := redistest.NewProxy(t, srv.Addr)
	const ttl = time.Second
	var regs []*livestate.Registry
	for i, name := range []string{"a", "b", "c"} {
		addr := srv.Addr
		if i == 0 {
			addr = proxy.Addr // a's leases only
		}
		rdb := goredis.NewClient(&goredis.Options{Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1})
		t.Cleanup(func() { rdb.Close() })
		leaser, err := psredis.NewLeaser(psredis.LeaserOptions{Client: rdb, TTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		reg := sharedNode(t, srv.Addr, name, leaser)
		regs = append(regs, reg)
	}
	const topic = "count:1"
	var cs []*boardSession
	for i, reg := range regs { // a joins first: it owns the topic
		c := joinSession(t, reg, []string{"ca", "cb", "cc"}[i], topic)
		c.until(0)
		cs = append(cs, c)
		adaptertest.WaitFor(t, 10*time.Second, "subscribed", func() bool { return reg.Endpoint().PubSubStats().Pending == 0 })
	}
	inc := []byte(`["1","2","` + topic + `","lvs_evt:inc",{}]`)
	for range 10 {
		for _, c := range cs {
			c.sess.Receive(inc, false)
		}
	}
	for _, c := range cs {
		c.until(30)
	}

	proxy.Stall()
	// Events keep coming from every node while a is stalled.
	stop := time.Now().Add(3 * ttl)
	for time.Now().Before(stop) {
		for _, c := range cs {
			c.sess.Receive(inc, false)
		}
		time.Sleep(ttl / 10)
	}
	// After the takeover (Init again), b's and c's clients agree; a's
	// client gets the new owner's state as well.
	for _, c := range cs {
		c.read("the new owner's state:change", func() bool { return c.changes >= 1 })
	}
	agree := func() bool {
		for _, c := range cs {
			if c.count != cs[0].count || c.version != cs[0].version {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		for _, c := range cs {
			c.drain()
		}
		if agree() {
			break
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, c := range cs {
				fmt.Fprintf(&b, "\n  %s: count %d, version %d, changes %d, frames %v", c.name, c.count, c.version, c.changes, c.versions)
			}
			t.Fatalf("the clients do not agree:%s", b.String())
		}
	}
	for range 3 {
		cs[1].sess.Receive(inc, false)
	}
	final := cs[1].count + 3
	for _, c := range cs {
		c.until(final)
	}
	for _, c := range cs {
		if c.version != cs[1].version {
			t.Errorf("%s at version %d, cb at %d", c.name, c.version, cs[1].version)
		}
		t.Logf("%s: %v", c.name, c.versions)
	}
}

// TestSharedLostLastUpdates: the PubSub link of a node that does not own
// the topic black-holes while the owner sends its last updates (Redis
// pub/sub delivers at most once: they are lost for that node), then the
// link comes back (the adapter reconnects) after the owner's first
// confirmation of its last update was lost too, and no update follows. A
// later confirmation (livestate.Config.SharedConfirm) brings that node's
// client the owner's state.
func TestSharedLostLastUpdates(t *testing.T) {
	srv := redistest.Start(t)
	proxy := redistest.NewProxy(t, srv.Addr)
	var regs []*livestate.Registry
	for i, name := range []string{"a", "b"} {
		rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
		t.Cleanup(func() { rdb.Close() })
		leaser, err := psredis.NewLeaser(psredis.LeaserOptions{Client: rdb, TTL: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		addr := srv.Addr
		if i == 1 {
			addr = proxy.Addr // b's PubSub link
		}
		regs = append(regs, sharedNode(t, addr, name, leaser))
	}
	const topic = "count:1"
	var cs []*boardSession
	for i, reg := range regs { // a joins first: it owns the topic
		c := joinSession(t, reg, []string{"ca", "cb"}[i], topic)
		c.until(0)
		cs = append(cs, c)
		adaptertest.WaitFor(t, 10*time.Second, "subscribed", func() bool { return reg.Endpoint().PubSubStats().Pending == 0 })
	}
	ca, cb := cs[0], cs[1]
	inc := []byte(`["1","2","` + topic + `","lvs_evt:inc",{}]`)
	ca.sess.Receive(inc, false)
	ca.until(1)
	cb.until(1)

	proxy.Freeze()
	for range 2 {
		ca.sess.Receive(inc, false)
	}
	ca.until(3)
	// The link stays down past the owner's first confirmation (1 s after
	// its last update): a later one brings the state.
	time.Sleep(1500 * time.Millisecond)
	proxy.Resume()
	cb.read("the owner's state", func() bool { return cb.count == 3 })
	if cb.changes != 1 || cb.version != ca.version {
		t.Errorf("cb: %d state:change after the join's, version %d; the owner's client at %d (cb's frames %v)", cb.changes, cb.version, ca.version, cb.versions)
	}
}
