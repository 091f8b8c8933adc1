// Package peer is the same-run peer of the load harness: a
// github.com/centrifugal/centrifuge server (the strongest Go peer of
// Seance) speaking its own JSON protocol over WebSocket at
// /connection/websocket, with the transport settings of centrifuge's own
// examples (_examples/chat_json: ReadBufferSize 1024, UseWriteBufferPool).
//
// What the rows ask of it mirrors what they ask of the server under test:
// every connection may connect (no token) and subscribe to any channel; the
// RPC method "increment" adds one to a counter of the connection and
// returns it (row 1's round trip, against Seance's lvs_evt:increment);
// /bench/broadcast publishes one tick to a channel (row 3). No channel has
// history, recovery, presence or join/leave messages, as the plain topics of
// the server under test have none.
package peer

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/centrifugal/centrifuge"
	"github.com/seance-go/seance/bench/internal/proto"
	"github.com/seance-go/seance/bench/internal/server"
)

// Server is the peer and its HTTP mux.
type Server struct {
	Mux  *http.ServeMux
	node *centrifuge.Node
}

// New builds and runs the peer's node.
func New() (*Server, error) {
	node, err := centrifuge.New(centrifuge.Config{})
	if err != nil {
		return nil, err
	}
	node.OnConnecting(func(context.Context, centrifuge.ConnectEvent) (centrifuge.ConnectReply, error) {
		return centrifuge.ConnectReply{Credentials: &centrifuge.Credentials{UserID: "bench"}}, nil
	})
	node.OnConnect(func(c *centrifuge.Client) {
		var count atomic.Int64
		c.OnSubscribe(func(_ centrifuge.SubscribeEvent, cb centrifuge.SubscribeCallback) {
			cb(centrifuge.SubscribeReply{}, nil)
		})
		c.OnRPC(func(e centrifuge.RPCEvent, cb centrifuge.RPCCallback) {
			if e.Method != "increment" {
				cb(centrifuge.RPCReply{}, centrifuge.ErrorMethodNotFound)
				return
			}
			n := count.Add(1)
			cb(centrifuge.RPCReply{Data: append(strconv.AppendInt([]byte(`{"count":`), n, 10), '}')}, nil)
		})
	})
	if err := node.Run(); err != nil {
		return nil, err
	}
	s := &Server{Mux: http.NewServeMux(), node: node}
	s.Mux.Handle(proto.CfPath, centrifuge.NewWebsocketHandler(node, centrifuge.WebsocketConfig{
		ReadBufferSize:     1024,
		UseWriteBufferPool: true,
		CheckOrigin:        func(*http.Request) bool { return true },
		// The load holds idle sockets that answer no ping for minutes (the
		// server under test gets a 30-minute idle timeout for the same
		// reason); the timers stay, as with the defaults.
		PingPongConfig: centrifuge.PingPongConfig{PingInterval: 30 * time.Minute, PongTimeout: 10 * time.Minute},
	}))
	s.Mux.HandleFunc("POST /bench/broadcast", s.broadcast)
	s.Mux.HandleFunc("GET /bench/stats", server.Stats(node.Hub().NumClients))
	server.Pprof(s.Mux)
	return s, nil
}

// broadcast publishes the tick the other systems send, to every subscriber
// of the channel.
func (s *Server) broadcast(w http.ResponseWriter, r *http.Request) {
	seq, _ := strconv.Atoi(r.URL.Query().Get("seq"))
	topic := r.URL.Query().Get("topic")
	data, _ := json.Marshal(server.Tick{Seq: seq, Body: server.TickBody})
	n := s.node.Hub().NumSubscribers(topic)
	if _, err := s.node.Publish(topic, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("X-Receivers", strconv.Itoa(n))
	w.WriteHeader(http.StatusNoContent)
}

// Shutdown closes every connection.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.node.Shutdown(ctx)
}
