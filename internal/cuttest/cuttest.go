// Package cuttest cuts a test client off the server the way a network
// failure does: its WebSocket connections reset (no close frame), then its
// requests refused for a while. Clients are told apart by the client_id
// query parameter their sockets send.
package cuttest

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// ClientIDParam is the query parameter that names a client.
const ClientIDParam = "client_id"

// Cutter records the WebSocket connections of each client and cuts them.
// The zero value is ready to use.
type Cutter struct {
	// Status answers the requests of a client while it is held
	// (default 503 Service Unavailable).
	Status int

	mu    sync.Mutex
	conns map[string][]net.Conn
	held  map[string]time.Time
}

// Wrap returns next with the WebSocket connections of each client recorded
// and the requests of a held client refused with Status. Requests without a
// client id pass through untouched.
func (c *Cutter) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get(ClientIDParam)
		if id == "" {
			next.ServeHTTP(w, r)
			return
		}
		c.mu.Lock()
		until := c.held[id]
		c.mu.Unlock()
		if time.Now().Before(until) {
			status := c.Status
			if status == 0 {
				status = http.StatusServiceUnavailable
			}
			http.Error(w, "cut by the test", status)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/websocket") {
			w = &hijackRecorder{ResponseWriter: w, record: func(conn net.Conn) {
				c.mu.Lock()
				if c.conns == nil {
					c.conns = map[string][]net.Conn{}
				}
				c.conns[id] = append(c.conns[id], conn)
				c.mu.Unlock()
			}}
		}
		next.ServeHTTP(w, r)
	})
}

// Cut closes the recorded WebSocket connections of client id abruptly (a
// TCP reset, not a clean close), refuses its requests for hold, and returns
// how many connections it closed.
func (c *Cutter) Cut(id string, hold time.Duration) int {
	c.mu.Lock()
	conns := c.conns[id]
	delete(c.conns, id)
	if c.held == nil {
		c.held = map[string]time.Time{}
	}
	c.held[id] = time.Now().Add(hold)
	c.mu.Unlock()
	for _, conn := range conns {
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		conn.Close()
	}
	return len(conns)
}

// hijackRecorder hands the hijacked connection of a WebSocket upgrade to
// record.
type hijackRecorder struct {
	http.ResponseWriter
	record func(net.Conn)
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err == nil {
		h.record(conn)
	}
	return conn, brw, err
}

func (h *hijackRecorder) Unwrap() http.ResponseWriter { return h.ResponseWriter }
