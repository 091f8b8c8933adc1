// Package presencetest is the multi-process presence test of the PubSub
// adapters: [NodeMain] runs a presence node (the adapter's test binary
// re-executed), and [RunCluster] starts three of them on one broker and
// checks that clients on every node see the same list through churn, a
// broker restart and a node killed with SIGKILL.
package presencetest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/seance-go/seance/cluster"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/longpoll"
	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/presence"
)

// Environment of a node process.
const (
	envNode      = "SEANCE_PRESENCE_NODE"   // node name; set: this process is a node
	envBroker    = "SEANCE_PRESENCE_BROKER" // the broker's address
	envHeartbeat = "SEANCE_PRESENCE_HEARTBEAT"
	envDownAfter = "SEANCE_PRESENCE_DOWN_AFTER"
)

// Timings of the nodes under test.
const (
	Heartbeat = 200 * time.Millisecond
	DownAfter = 1500 * time.Millisecond
)

// NodeMain runs a presence node and exits when this process was started
// as one by [RunCluster]; otherwise it returns at once. Call it first in
// TestMain. newPubSub makes the adapter for the node name and broker
// address.
func NodeMain(newPubSub func(node, broker string) (phx.PubSub, error)) {
	node := os.Getenv(envNode)
	if node == "" {
		return
	}
	if err := serveNode(node, newPubSub); err != nil {
		fmt.Fprintln(os.Stderr, "presence node:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// node is one node process's server.
type node struct {
	name string
	tr   *presence.Tracker
	ep   *phx.Endpoint

	mu   sync.Mutex
	chs  []*phx.Channel
	keys map[*phx.Channel]string
	rnd  *rand.Rand
}

func serveNode(name string, newPubSub func(node, broker string) (phx.PubSub, error)) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("node", name)
	ps, err := newPubSub(name, os.Getenv(envBroker))
	if err != nil {
		return err
	}
	hb, _ := time.ParseDuration(os.Getenv(envHeartbeat))
	down, _ := time.ParseDuration(os.Getenv(envDownAfter))
	m := cluster.NewMembership(ps, cluster.MembershipOptions{Heartbeat: hb, DownAfter: down, Logger: log})
	reg := livestate.NewRegistry(livestate.Config{
		Engine: phx.Config{PubSub: m, Logger: log},
		Socket: handler.Options{Logger: log},
		// One secret on every node: a long-poll session is reachable
		// through any of them (relayed to its owner).
		LongPoll: longpoll.Options{Secret: []byte("presencetest: the nodes' shared secret")},
	})
	n := &node{name: name, ep: reg.Endpoint(), keys: map[*phx.Channel]string{},
		rnd: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(os.Getpid())))}
	n.tr = presence.New(reg.Endpoint(), presence.Options{Cluster: m, Logger: log})
	reg.Handle("room:*", roomChannel{n})
	joined := make(chan *phx.Channel, 64)
	reg.Handle("churn:*", phx.HandlerFuncs{JoinFunc: func(_ context.Context, ch *phx.Channel, _ phx.Payload) (any, error) {
		joined <- ch
		return nil, nil
	}})
	// Channels of an in-process session that churn tracks on "room:1".
	sess, err := n.ep.Open(phx.ConnectInfo{Transport: "internal"}, phx.V2JSON(), false)
	if err != nil {
		return err
	}
	go func() {
		for {
			if _, err := sess.Next(context.Background()); err != nil {
				return
			}
		}
	}()
	for i := range 40 {
		if err := sess.Receive(fmt.Appendf(nil, `["%d","%d","churn:%d","phx_join",{}]`, i+1, i+1, i), false); err != nil {
			return err
		}
		n.chs = append(n.chs, <-joined)
	}

	mux := http.NewServeMux()
	mux.Handle("/socket/", livestate.Handler(reg))
	mux.HandleFunc("GET /presence", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(n.tr.List(r.URL.Query().Get("topic")))
	})
	mux.HandleFunc("POST /churn", func(w http.ResponseWriter, r *http.Request) {
		ops, _ := strconv.Atoi(r.URL.Query().Get("ops"))
		if err := n.churn(ops); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	fmt.Printf("listening on http://%s\n", l.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reg.Shutdown(sctx)
	n.tr.Close(sctx)
	return srv.Shutdown(sctx)
}

// churn makes ops random tracks, updates and untracks on "room:1" from
// the node's internal channels.
func (n *node) churn(ops int) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for range ops {
		ch := n.chs[n.rnd.IntN(len(n.chs))]
		key, tracked := n.keys[ch]
		var err error
		switch {
		case !tracked:
			key = fmt.Sprintf("churn%d", n.rnd.IntN(15))
			_, err = n.tr.TrackTopic(ch, "room:1", key, map[string]any{"node": n.name})
			n.keys[ch] = key
		case n.rnd.IntN(2) == 0:
			_, err = n.tr.UpdateTopic(ch, "room:1", key, map[string]any{"node": n.name, "n": n.rnd.IntN(1000)})
		default:
			err = n.tr.UntrackTopic(ch, "room:1", key)
			delete(n.keys, ch)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// roomChannel tracks a joiner with a "user" param (meta {"node": …});
// without one it only watches. It pushes the presence_state after the
// join.
type roomChannel struct{ n *node }

func (roomChannel) Join(_ context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
	var p struct {
		User string `json:"user"`
	}
	if err := params.Decode(&p); err != nil {
		return nil, err
	}
	ch.Set("user", p.User)
	return nil, nil
}

func (c roomChannel) AfterJoin(_ context.Context, ch *phx.Channel) error {
	if user := ch.Value("user").(string); user != "" {
		if _, err := c.n.tr.Track(ch, user, map[string]any{"node": c.n.name}); err != nil {
			return err
		}
	}
	return c.n.tr.PushState(ch)
}
