package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seance-go/seance/history"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// resumeGrace is how long the "resume:*" channels are kept after their
// connection drops.
const resumeGrace = 2 * time.Second

// resumeSocketPath serves the main registry with its WebSocket connections
// recorded by client_id, so that a scenario can cut them without a clean
// close.
const resumeSocketPath = "/resume/socket"

// resumeLab is the server side of the resume scenarios: it routes
// "resume:*" to a counter kept resumeGrace after a disconnect that counts
// its Inits per topic, and serves
//
//	/resume/socket                         the main registry, WebSocket connections recorded by client_id
//	POST /resume/cut?client_id=…&hold=ms   closes them abruptly (TCP reset, no close frame) and refuses
//	                                       that client's requests (HTTP 500) for hold ms
//	GET /resume/inits?topic=…              how many times Init ran for the topic
type resumeLab struct {
	mu    sync.Mutex
	conns map[string][]net.Conn
	held  map[string]time.Time
	inits map[string]int
}

func registerResume(s *conformanceServer) {
	lab := &resumeLab{conns: map[string][]net.Conn{}, held: map[string]time.Time{}, inits: map[string]int{}}
	s.reg.Handle("resume:*", livestate.New(func() livestate.Channel[counterState] {
		return resumeCounter{lab: lab}
	}, livestate.Options{ResumeGrace: resumeGrace}))
	s.mux.Handle(resumeSocketPath+"/", lab.wrap(livestate.Handler(s.reg)))
	s.mux.HandleFunc("POST /resume/cut", lab.cut)

	// History: "hist:*" topics are tracked; POST /history/publish?topic=…&from=…&to=…
	// publishes "msg" {"n": i} for i in from…to.
	hist := history.New(history.Options{MaxEntries: 5000})
	s.reg.Handle("hist:*", hist.Handler(phx.HandlerFuncs{}))
	s.mux.HandleFunc("POST /history/publish", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		from, _ := strconv.Atoi(q.Get("from"))
		to, _ := strconv.Atoi(q.Get("to"))
		for i := from; i <= to; i++ {
			if _, err := hist.Broadcast(r.Context(), q.Get("topic"), "msg", map[string]int{"n": i}); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]int{"published": to - from + 1})
	})
	s.mux.HandleFunc("GET /resume/inits", func(w http.ResponseWriter, r *http.Request) {
		lab.mu.Lock()
		n := lab.inits[r.URL.Query().Get("topic")]
		lab.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]int{"inits": n})
	})
}

// resumeCounter is the conformance counter with its Inits counted.
type resumeCounter struct {
	counterChannel
	lab *resumeLab
}

func (c resumeCounter) Init(ctx context.Context, s *livestate.Socket, params phx.Payload) (counterState, error) {
	c.lab.mu.Lock()
	c.lab.inits[s.Topic()]++
	c.lab.mu.Unlock()
	return c.counterChannel.Init(ctx, s, params)
}

// wrap records the WebSocket connections of each client_id and refuses
// (500) a held client's requests.
func (lab *resumeLab) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get(livestate.ClientIDParam)
		if id == "" {
			next.ServeHTTP(w, r)
			return
		}
		lab.mu.Lock()
		until := lab.held[id]
		lab.mu.Unlock()
		if time.Now().Before(until) {
			// 500: the one failure status phoenix 1.6's LongPoll retries on
			// (it throws on a 503).
			http.Error(w, "held by the test", http.StatusInternalServerError)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/websocket") {
			w = &hijackRecorder{ResponseWriter: w, record: func(c net.Conn) {
				lab.mu.Lock()
				lab.conns[id] = append(lab.conns[id], c)
				lab.mu.Unlock()
			}}
		}
		next.ServeHTTP(w, r)
	})
}

func (lab *resumeLab) cut(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get(livestate.ClientIDParam)
	hold, _ := strconv.Atoi(r.URL.Query().Get("hold"))
	lab.mu.Lock()
	conns := lab.conns[id]
	delete(lab.conns, id)
	lab.held[id] = time.Now().Add(time.Duration(hold) * time.Millisecond)
	lab.mu.Unlock()
	for _, c := range conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // a reset, not a clean close
		}
		c.Close()
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]int{"cut": len(conns)})
}

// hijackRecorder hands the hijacked connection of a WebSocket upgrade to
// record.
type hijackRecorder struct {
	http.ResponseWriter
	record func(net.Conn)
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err == nil {
		h.record(c)
	}
	return c, brw, err
}

func (h *hijackRecorder) Unwrap() http.ResponseWriter { return h.ResponseWriter }
