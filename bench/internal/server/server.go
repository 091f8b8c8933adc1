// Package server is the system under test: a livestate.Registry serving a
// counter-like LiveState channel (counter:*), the 1 MB-state LiveState
// channels of row 4 (big:*, a typed state; bigdoc:*, the same state in a
// livestate.Doc) and a plain broadcast channel (room:*), plus the harness's control
// endpoints (/bench/broadcast, /bench/stats) and net/http/pprof.
package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/seance-go/seance/bench/internal/bigstate"
	"github.com/seance-go/seance/bench/internal/sysinfo"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/longpoll"
	"github.com/seance-go/seance/phx"
)

// Counter is the state of counter:* topics: a counter with a few fields
// beside it, so that a change is a state:patch smaller than the state (with
// livestate.Options.CompactWire too, which would send a larger patch as a
// state:change).
type Counter struct {
	Count int    `json:"count"`
	Step  int    `json:"step"`
	Name  string `json:"name"`
	Owner string `json:"owner"`
}

type counterChannel struct{}

func (counterChannel) Init(context.Context, *livestate.Socket, phx.Payload) (Counter, error) {
	return Counter{Step: 1, Name: "bench counter", Owner: "load generator"}, nil
}

func (counterChannel) HandleEvent(_ context.Context, _ *livestate.Socket, event string, _ phx.Payload, s *Counter) error {
	switch event {
	case "increment":
		s.Count += s.Step
		return nil
	}
	return nil
}

// Options configures the server under test.
type Options struct {
	// BigStateSize is the JSON size of big:* and bigdoc:* states (default
	// 1 MiB).
	BigStateSize int
	// LongPoll is "auto" (default: use livestate.Handler's long-poll when it
	// serves one, else mount longpoll.New on the same endpoint), "native"
	// (only livestate.Handler's) or "off".
	LongPoll string
	Logger   *slog.Logger
	// Observer, when set, is the endpoint's phx.Observer (the observer
	// cost measure of row 1).
	Observer *phx.Observer
}

// maxLongPollSessions caps the long-poll sessions of the server under test
// in total and per client address (the load runs on one host).
const maxLongPollSessions = 100_000

// Server is the registry and its HTTP mux.
type Server struct {
	Reg *livestate.Registry
	Mux *http.ServeMux
	// LongPoll says how <mount>/longpoll is served: "native",
	// "bench-wired" or "none".
	LongPoll string
	lp       *longpoll.Handler
}

// New builds the server under test.
func New(opts Options) *Server {
	if opts.BigStateSize <= 0 {
		opts.BigStateSize = 1 << 20
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := livestate.NewRegistry(livestate.Config{
		Engine: phx.Config{Logger: log, Observer: opts.Observer},
		// The load holds idle sockets without heartbeats for minutes.
		Socket: handler.Options{IdleTimeout: 30 * time.Minute},
		// Every load session comes from this host: lift the per-client
		// cap to the total one.
		LongPoll: longpoll.Options{MaxSessionsPerIP: maxLongPollSessions, MaxSessions: maxLongPollSessions},
	})
	reg.Handle("counter:*", livestate.New(func() livestate.Channel[Counter] { return counterChannel{} }, livestate.Options{}))
	reg.Handle("big:*", bigstate.Handler(opts.BigStateSize))
	reg.Handle("bigdoc:*", bigstate.DocHandler(opts.BigStateSize))
	reg.Handle("room:*", phx.HandlerFuncs{})

	s := &Server{Reg: reg, Mux: http.NewServeMux()}
	socket := livestate.Handler(reg)
	s.Mux.Handle("/socket/", socket)
	switch {
	case opts.LongPoll == "off":
		s.LongPoll = "none"
	case servesLongPoll(socket):
		s.LongPoll = "native"
	case opts.LongPoll == "native":
		s.LongPoll = "none"
	default:
		s.lp = longpoll.New(reg.Endpoint(), longpoll.Options{Logger: log, MaxSessionsPerIP: maxLongPollSessions, MaxSessions: maxLongPollSessions})
		s.Mux.Handle("/socket/longpoll", s.lp)
		s.LongPoll = "bench-wired"
	}
	s.Mux.HandleFunc("POST /bench/broadcast", s.broadcast)
	s.Mux.HandleFunc("GET /bench/stats", Stats(func() int { return reg.Endpoint().Sessions() }))
	Pprof(s.Mux)
	return s
}

// servesLongPoll probes h like a phoenix.js client opening a long-poll
// session: a JSON answer with "status":410.
func servesLongPoll(h http.Handler) bool {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/socket/longpoll?vsn=2.0.0", nil)
	h.ServeHTTP(rec, req)
	return IsLongPollOpen(rec.Body.Bytes())
}

// IsLongPollOpen reports whether body is a long-poll session-open answer.
func IsLongPollOpen(body []byte) bool {
	var r struct {
		Status int    `json:"status"`
		Token  string `json:"token"`
	}
	return json.Unmarshal(body, &r) == nil && r.Status == 410 && r.Token != ""
}

// Tick is the payload of a benchmark broadcast.
type Tick struct {
	Seq  int    `json:"seq"`
	Body string `json:"body"`
}

// TickBody pads broadcasts to a realistic chat-message size.
const TickBody = "the quick brown fox jumps over the lazy dog, again and again"

func (s *Server) broadcast(w http.ResponseWriter, r *http.Request) {
	seq, _ := strconv.Atoi(r.URL.Query().Get("seq"))
	topic := r.URL.Query().Get("topic")
	n, err := s.Reg.Broadcast(r.Context(), topic, "tick", Tick{Seq: seq, Body: TickBody})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("X-Receivers", strconv.Itoa(n))
	w.WriteHeader(http.StatusNoContent)
}

// Shutdown closes every connection.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.lp != nil {
		s.lp.Shutdown(ctx)
	}
	return s.Reg.Shutdown(ctx)
}

// StatsReply is the answer of /bench/stats.
type StatsReply struct {
	sysinfo.Runtime
	Conns int `json:"conns"`
}

// Stats serves /bench/stats: runtime metrics, after a GC and a return of
// free memory to the OS when ?settle=1.
func Stats(conns func() int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rt := sysinfo.ReadRuntime(r.URL.Query().Get("settle") == "1")
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(StatsReply{Runtime: rt, Conns: conns()})
	}
}

// Pprof mounts net/http/pprof under /debug/pprof/.
func Pprof(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", func(w http.ResponseWriter, r *http.Request) {
		switch strings.TrimPrefix(r.URL.Path, "/debug/pprof/") {
		case "profile":
			pprof.Profile(w, r)
		case "trace":
			pprof.Trace(w, r)
		default:
			pprof.Index(w, r)
		}
	})
}
