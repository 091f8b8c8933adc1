package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/seance-go/seance/history"
	"github.com/seance-go/seance/internal/cuttest"
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
//	POST /resume/cut?client_id=…&hold=ms   closes them abruptly (TCP reset, no close frame), ends that
//	                                       client's long-poll sessions on the server as a lost connection
//	                                       (no leave), and refuses its requests (HTTP 500) for hold ms
//	GET /resume/inits?topic=…              how many times Init ran for the topic
type resumeLab struct {
	cut cuttest.Cutter
	ep  *phx.Endpoint // of /resume/socket

	mu    sync.Mutex
	inits map[string]int
}

func registerResume(s *conformanceServer) {
	// 500: the one failure status phoenix 1.6's LongPoll retries on (it
	// throws on a 503).
	lab := &resumeLab{cut: cuttest.Cutter{Status: http.StatusInternalServerError}, ep: s.reg.Endpoint(), inits: map[string]int{}}
	s.reg.Handle("resume:*", livestate.New(func() livestate.Channel[counterState] {
		return resumeCounter{lab: lab}
	}, livestate.Options{ResumeGrace: resumeGrace}))
	s.mux.Handle(resumeSocketPath+"/", lab.cut.Wrap(livestate.Handler(s.reg)))
	s.mux.HandleFunc("POST /resume/cut", lab.handleCut)

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

// handleCut serves POST /resume/cut?client_id=…&hold=ms.
func (lab *resumeLab) handleCut(w http.ResponseWriter, r *http.Request) {
	hold, _ := strconv.Atoi(r.URL.Query().Get("hold"))
	id := r.URL.Query().Get(livestate.ClientIDParam)
	n := lab.cut.Cut(id, time.Duration(hold)*time.Millisecond)
	// A long-poll session has no connection to reset: end it on the server
	// as a lost connection does (its channels end with ErrDisconnected, no
	// leave); the client's next poll finds it gone and opens a new one.
	var lp []*phx.Session
	lab.ep.EachSession(func(s *phx.Session) bool {
		if s.Info().Transport == "longpoll" && s.Info().Params[livestate.ClientIDParam] == id {
			lp = append(lp, s)
		}
		return true
	})
	for _, s := range lp {
		s.Close(phx.ErrDisconnected)
	}
	n += len(lp)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]int{"cut": n})
}
