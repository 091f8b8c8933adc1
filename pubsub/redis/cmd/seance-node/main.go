// Command seance-node is a small Seance server for trying several nodes
// behind one Redis: run two on different ports and the clients of one topic
// see each other whichever node they are connected to.
//
//	seance-node -addr 127.0.0.1:4001 -node n1 -redis localhost:6379
//	seance-node -addr 127.0.0.1:4002 -node n2 -redis localhost:6379
//
// It serves:
//
//   - /socket/websocket: Phoenix Channels. "room:*" is a plain channel whose
//     "shout" pushes are broadcast to the topic (reply {"node": …});
//     "counter:*" is a LiveState channel with state {"count": n}: the client
//     event lvs_evt:inc {"by": n} broadcasts "inc" on the topic, and every
//     counter of the topic, on every node, adds n when it receives it.
//   - POST /broadcast?topic=T&event=E with a JSON body (default {}):
//     broadcasts to every node; answers {"node": …, "local": n} where n is
//     how many channels of this node it reached. The other nodes get it
//     asynchronously (a Redis failure is counted in /stats); 502 means it
//     could not even be queued for them.
//   - GET /stats: the Redis adapter's counters as JSON.
//
// It prints "seance-node: listening on http://HOST:PORT" once it accepts
// connections (-addr with port 0 picks a free port) and shuts down
// gracefully on SIGINT or SIGTERM.
package main

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
	"syscall"
	"time"

	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
	psredis "github.com/seance-go/seance/pubsub/redis"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "seance-node:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seance-node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:4000", "listen address")
	redisAddr := fs.String("redis", "localhost:6379", "Redis address")
	node := fs.String("node", "", "unique node name (default: hostname-pid-random)")
	mode := fs.String("mode", "topics", "Redis channel mapping: topics or bus")
	ns := fs.String("namespace", "seance", "Redis channel name prefix")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m, err := psredis.ParseMode(*mode)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ps, err := psredis.New(psredis.Options{Addr: *redisAddr, Node: *node, Namespace: *ns, Mode: m, Logger: log})
	if err != nil {
		return err
	}
	defer ps.Close()
	log = log.With("node", ps.NodeName())

	reg := livestate.NewRegistry(livestate.Config{
		Engine: phx.Config{PubSub: ps, Logger: log},
		Socket: handler.Options{Logger: log},
	})
	reg.Handle("room:*", room(ps.NodeName()))
	reg.Handle("counter:*", livestate.New(func() livestate.Channel[counterState] { return counter{} }, livestate.Options{}))

	mux := http.NewServeMux()
	mux.Handle("/socket/", livestate.Handler(reg))
	mux.HandleFunc("POST /broadcast", func(w http.ResponseWriter, r *http.Request) {
		broadcast(w, r, reg, ps.NodeName())
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, ps.Stats())
	})

	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(l) }()
	fmt.Fprintf(stdout, "seance-node: listening on http://%s\n", l.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Close the sockets first (clients reconnect elsewhere), then HTTP.
	errReg := reg.Shutdown(sctx)
	errSrv := srv.Shutdown(sctx)
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return errors.Join(errReg, errSrv)
}

// room is a plain channel: "shout" broadcasts its payload to the topic.
func room(node string) phx.Handler {
	return phx.HandlerFuncs{
		JoinFunc: func(ctx context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
			return map[string]string{"node": node}, nil
		},
		InFunc: func(ctx context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
			if msg.Event != "shout" {
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
		// Delivered locally, but not queued for the other nodes.
		writeJSON(w, http.StatusBadGateway, map[string]any{"node": node, "local": n, "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"node": node, "local": n})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
