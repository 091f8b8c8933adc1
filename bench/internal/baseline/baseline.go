// Package baseline is the raw gorilla/websocket server every row is compared
// with in the same run: an echo server with one reader goroutine per
// connection (round trips, idle memory) that can also write one pre-encoded
// frame to all its connections (fan-out).
package baseline

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/bench/internal/proto"
	"github.com/seance-go/seance/bench/internal/server"
)

// Server is the baseline.
type Server struct {
	Mux      *http.ServeMux
	work     time.Duration
	upgrader websocket.Upgrader

	mu    sync.Mutex
	conns map[*wsConn]struct{}
}

type wsConn struct {
	mu sync.Mutex // serializes echo writes and fan-out writes
	c  *websocket.Conn
}

// New returns the baseline server; its socket is /socket/websocket. A
// positive work is CPU time the echo burns per message before answering
// (busy-waiting on the clock): row 1's calibration, how the round trips'
// percentiles move with the server's CPU per message.
func New(work time.Duration) *Server {
	s := &Server{Mux: http.NewServeMux(), conns: map[*wsConn]struct{}{}, work: work}
	s.upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	s.Mux.HandleFunc("/socket/websocket", s.serveWS)
	s.Mux.HandleFunc("POST /bench/broadcast", s.broadcast)
	s.Mux.HandleFunc("GET /bench/stats", server.Stats(s.count))
	server.Pprof(s.Mux)
	return s
}

func (s *Server) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// serveWS echoes every message back on the reading goroutine: the one
// goroutine per connection.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	c, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	wc := &wsConn{c: c}
	s.mu.Lock()
	s.conns[wc] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, wc)
		s.mu.Unlock()
		c.Close()
	}()
	for {
		kind, data, err := c.ReadMessage()
		if err != nil {
			return
		}
		if s.work > 0 {
			spin(s.work)
		}
		wc.mu.Lock()
		err = c.WriteMessage(kind, data)
		wc.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// broadcast encodes the same frame our server sends for a tick once, then
// writes it to every connection in turn.
func (s *Server) broadcast(w http.ResponseWriter, r *http.Request) {
	seq, _ := strconv.Atoi(r.URL.Query().Get("seq"))
	topic := r.URL.Query().Get("topic")
	payload, _ := json.Marshal(server.Tick{Seq: seq, Body: server.TickBody})
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, proto.Frame("", "", topic, "tick", payload))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.mu.Lock()
	conns := make([]*wsConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.mu.Lock()
		c.c.WritePreparedMessage(pm)
		c.mu.Unlock()
	}
	w.Header().Set("X-Receivers", strconv.Itoa(len(conns)))
	w.WriteHeader(http.StatusNoContent)
}

// Shutdown closes every connection.
func (s *Server) Shutdown(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.c.Close()
	}
	return nil
}

// spin keeps the goroutine on its core for d.
func spin(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}
