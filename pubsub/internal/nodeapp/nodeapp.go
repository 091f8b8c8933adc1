// Package nodeapp is the server behind the seance-node commands of the
// PubSub adapters (pubsub/redis/cmd/seance-node, pubsub/nats/cmd/seance-node):
// the same channels, REST endpoints and shutdown whatever the broker.
package nodeapp

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/seance-go/seance/cluster"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/history"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/longpoll"
	"github.com/seance-go/seance/phx"
)

// Config is what a command passes: its adapter and settings.
type Config struct {
	// Addr is the listen address (port 0 picks a free port).
	Addr string
	// PubSub is the adapter, already created.
	PubSub phx.PubSub
	// Stats returns the adapter's counters for GET /stats.
	Stats func() any
	// Secret keys long-poll tokens; the same on every node.
	Secret string
	// DrainBatch and DrainInterval configure the shutdown drain.
	DrainBatch    int
	DrainInterval time.Duration
	// ShutdownTimeout bounds the graceful shutdown (default 10s).
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	Stdout          io.Writer
	// SharedLeaser, when set, makes "board:*" (a shared LiveState counter)
	// one state across the nodes.
	SharedLeaser cluster.Leaser
	// HistoryStore keeps the history of "hist:*" (nil: in memory, each
	// node its own).
	HistoryStore history.Store
	// SharedSnapshots, with SharedLeaser, stores the boards' states: a new
	// owner starts from the last one.
	SharedSnapshots cluster.SnapshotStore
	// JoinAwaits is phx.Config.JoinAwaitsSubscription.
	JoinAwaits time.Duration
	// SharedConfirm is livestate.Config.SharedConfirm (0: its default,
	// negative: no confirmations).
	SharedConfirm time.Duration
}

// Flags are the command-line flags every seance-node command has, whatever
// its broker.
type Flags struct {
	Addr            string
	Node            string
	Mode            string
	Namespace       string
	Secret          string
	DrainBatch      int
	DrainInterval   time.Duration
	ShutdownTimeout time.Duration
	// History is where "hist:*" keeps its history: "memory" or "broker".
	History string
	// SharedConfirm is Config.SharedConfirm.
	SharedConfirm time.Duration
	// JoinAwaits is Config.JoinAwaits.
	JoinAwaits time.Duration
}

// Register defines the flags on fs; modeUsage and namespaceUsage describe
// -mode and -namespace in the broker's words.
func (f *Flags) Register(fs *flag.FlagSet, modeUsage, namespaceUsage string) {
	fs.StringVar(&f.Addr, "addr", "127.0.0.1:4000", "listen address")
	fs.StringVar(&f.Node, "node", "", "unique node name (default: hostname-pid-random)")
	fs.StringVar(&f.Mode, "mode", "topics", modeUsage)
	fs.StringVar(&f.Namespace, "namespace", "seance", namespaceUsage)
	fs.StringVar(&f.Secret, "secret", "", "long-poll token secret, the same on every node (default: random, long-poll then works only with sticky sessions)")
	fs.IntVar(&f.DrainBatch, "drain-batch", 0, "connections closed per batch on shutdown (default 10000)")
	fs.DurationVar(&f.DrainInterval, "drain-interval", 0, "pause between drain batches (default 2s)")
	fs.DurationVar(&f.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "bound of the graceful shutdown")
	fs.DurationVar(&f.SharedConfirm, "shared-confirm", 0, "how long after an update a shared topic's owner confirms its last one to the other nodes (0: livestate's default, negative: never)")
	fs.DurationVar(&f.JoinAwaits, "join-awaits", 0, "how long a join's reply may wait for the broker to confirm the subscription of its topic (0: it does not wait)")
	fs.StringVar(&f.History, "history", "memory", "history store of the hist:* topics: memory (each node its own) or broker (shared by the nodes: any node recovers)")
}

// HistoryInBroker reports whether -history asks for the broker's store, or
// an error for an unknown value.
func (f *Flags) HistoryInBroker() (bool, error) {
	switch f.History {
	case "memory", "":
		return false, nil
	case "broker":
		return true, nil
	}
	return false, fmt.Errorf("-history: %q is neither memory nor broker", f.History)
}

// Config returns the Config of a node serving ps with these flags.
func (f *Flags) Config(ps phx.PubSub, stats func() any, log *slog.Logger, stdout io.Writer) Config {
	return Config{
		Addr: f.Addr, PubSub: ps, Stats: stats, Secret: f.Secret,
		DrainBatch: f.DrainBatch, DrainInterval: f.DrainInterval, ShutdownTimeout: f.ShutdownTimeout,
		Logger: log, Stdout: stdout, SharedConfirm: f.SharedConfirm, JoinAwaits: f.JoinAwaits,
	}
}

// Main runs a command's run function with its arguments and standard
// output, and exits with status 1 after printing its error.
func Main(run func(args []string, stdout, stderr io.Writer) error) {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "seance-node:", err)
		os.Exit(1)
	}
}

// Run serves until SIGINT or SIGTERM, then shuts down gracefully.
func Run(cfg Config) error {
	log := cfg.Logger.With("node", cfg.PubSub.NodeName())
	node := cfg.PubSub.NodeName()
	reg := livestate.NewRegistry(livestate.Config{
		Engine: phx.Config{PubSub: cfg.PubSub, Logger: log, DrainBatchSize: cfg.DrainBatch, DrainInterval: cfg.DrainInterval,
			JoinAwaitsSubscription: cfg.JoinAwaits},
		Socket: handler.Options{Logger: log, Connect: connect},
		LongPoll: longpoll.Options{
			Secret: []byte(cfg.Secret),
		},
		SharedLeaser:    cfg.SharedLeaser,
		SharedSnapshots: cfg.SharedSnapshots,
		SharedConfirm:   cfg.SharedConfirm,
	})
	reg.Handle("board:*", livestate.NewShared[counterState](board{}, livestate.Options{}))
	reg.Handle("room:*", room(node))
	reg.Handle("counter:*", livestate.New(func() livestate.Channel[counterState] { return counter{} }, livestate.Options{}))
	hist := history.New(history.Options{Store: cfg.HistoryStore, Endpoint: reg.Endpoint(), Logger: log})
	reg.Handle("hist:*", hist.Handler(room(node)))

	mux := http.NewServeMux()
	mux.Handle("/socket/", livestate.Handler(reg))
	mux.HandleFunc("POST /broadcast", func(w http.ResponseWriter, r *http.Request) {
		broadcast(w, r, reg, node)
	})
	mux.HandleFunc("POST /history/publish", func(w http.ResponseWriter, r *http.Request) {
		publishHistory(w, r, hist, node)
	})
	mux.HandleFunc("POST /disconnect", func(w http.ResponseWriter, r *http.Request) {
		n, err := reg.DisconnectID(r.Context(), r.URL.Query().Get("id"))
		if err != nil {
			writeJSON(w, http.StatusBadGateway, map[string]any{"node": node, "local": n, "error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"node": node, "local": n})
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, cfg.Stats())
	})
	mux.HandleFunc("GET /sessions", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"node": node, "sessions": reg.Endpoint().Sessions()})
	})

	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(l) }()
	fmt.Fprintf(cfg.Stdout, "seance-node: listening on http://%s\n", l.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	timeout := cfg.ShutdownTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// Close the sockets first (clients reconnect elsewhere), then HTTP.
	errReg := reg.Shutdown(sctx)
	errSrv := srv.Shutdown(sctx)
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return errors.Join(errReg, errSrv)
}

// connect names a connection with a "user" connect parameter
// "user_socket:<user>", so that POST /disconnect?id=user_socket:<user>
// closes it on every node.
func connect(r *http.Request, info *phx.ConnectInfo) error {
	if u, ok := info.Params["user"].(string); ok && u != "" {
		info.ID = "user_socket:" + u
	}
	return nil
}

// room is a plain channel: "shout" broadcasts its payload to the topic,
// "echo" replies with its payload and the node that served it.
func room(node string) phx.Handler {
	return phx.HandlerFuncs{
		JoinFunc: func(ctx context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
			return map[string]string{"node": node}, nil
		},
		InFunc: func(ctx context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
			switch msg.Event {
			case "echo":
				return phx.Ok(map[string]any{"node": node, "echo": json.RawMessage(msg.Payload.Data)}), nil
			case "shout":
			default:
				return phx.Err(map[string]string{"reason": "unknown event"}), nil
			}
			var payload any = msg.Payload
			if msg.Payload.Binary {
				payload = phx.Binary(msg.Payload.Data)
			}
			if err := ch.Broadcast(msg.Event, payload); err != nil {
				return phx.Err(map[string]string{"reason": err.Error()}), nil
			}
			return phx.Ok(map[string]string{"node": node}), nil
		},
	}
}

type counterState struct {
	Count int64 `json:"count"`
}

type incPayload struct {
	By int64 `json:"by"`
}

// counter is a LiveState counter that counts "inc" broadcasts on its topic.
type counter struct{}

func (counter) Init(ctx context.Context, s *livestate.Socket, params phx.Payload) (counterState, error) {
	return counterState{}, nil
}

// HandleEvent broadcasts "inc": every counter of the topic, on every node,
// including this one, applies it in HandleMessage.
func (counter) HandleEvent(ctx context.Context, s *livestate.Socket, event string, payload phx.Payload, st *counterState) error {
	if event != "inc" {
		return fmt.Errorf("unknown event %q", event)
	}
	var in incPayload
	if err := payload.Decode(&in); err != nil {
		return err
	}
	return s.Broadcast(ctx, s.Topic(), "inc", in)
}

func (counter) HandleMessage(ctx context.Context, s *livestate.Socket, msg any, st *counterState) error {
	b, ok := msg.(*phx.Broadcast)
	if !ok || b.Event != "inc" {
		return nil
	}
	var in incPayload
	if err := b.Payload.Decode(&in); err != nil {
		return err
	}
	st.Count += in.By
	return nil
}

func broadcast(w http.ResponseWriter, r *http.Request, reg *livestate.Registry, node string) {
	topic, event := r.URL.Query().Get("topic"), r.URL.Query().Get("event")
	if topic == "" || event == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "topic and event are required"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": err.Error()})
		return
	}
	payload := json.RawMessage("{}")
	if len(body) > 0 {
		if !json.Valid(body) {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body is not JSON"})
			return
		}
		payload = body
	}
	n, err := reg.Broadcast(r.Context(), topic, event, payload)
	if err != nil {
		// Delivered locally, but not to the other nodes.
		writeJSON(w, http.StatusBadGateway, map[string]any{"node": node, "local": n, "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"node": node, "local": n})
}

// publishHistory publishes "msg" {"i": k} for k = from … from+n-1 on a
// "hist:*" topic, one after the other, and answers the last position.
func publishHistory(w http.ResponseWriter, r *http.Request, hist *history.History, node string) {
	q := r.URL.Query()
	topic := q.Get("topic")
	from, err1 := strconv.Atoi(q.Get("from"))
	n, err2 := strconv.Atoi(q.Get("n"))
	if topic == "" || err1 != nil || err2 != nil || n < 1 || n > 100_000 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "topic, from and n (1…100000) are required"})
		return
	}
	var last history.Position
	for i := from; i < from+n; i++ {
		pos, err := hist.Broadcast(r.Context(), topic, "msg", map[string]int{"i": i})
		if err != nil {
			writeJSON(w, http.StatusBadGateway, map[string]any{"node": node, "error": err.Error(), "last": last})
			return
		}
		last = pos
	}
	writeJSON(w, http.StatusOK, map[string]any{"node": node, "last": last})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// board is a shared LiveState counter: lvs_evt:inc adds 1 to the topic's
// one state (one state per topic in the cluster with Config.SharedLeaser).
type board struct{}

func (board) Init(ctx context.Context, topic string) (counterState, error) {
	return counterState{}, nil
}

func (board) HandleEvent(ctx context.Context, s *livestate.Socket, event string, payload phx.Payload, st *counterState) error {
	if event != "inc" {
		return fmt.Errorf("unknown event %q", event)
	}
	st.Count++
	return nil
}
