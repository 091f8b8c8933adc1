package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seance-go/seance/cluster"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/internal/membus"
	"github.com/seance-go/seance/internal/memlease"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// The conformance server is the Go side of the Node suite in conformance/:
// every channel below exists to let one scenario of the real phoenix.js or
// phx-live-state client observe one rule of the protocol.

// validToken is the only authToken the connect hook accepts.
const validToken = "secret-token"

// Socket mounts of the main registry and of the one limited to two channels.
const (
	socketPath        = "/socket"
	limitedSocketPath = "/limited/socket"
	// blockedSocketPath serves the main registry with its WebSocket path
	// refused (as a proxy that cannot upgrade would), for phoenix.js's
	// longPollFallbackMs.
	blockedSocketPath = "/blocked/socket"
)

// conformanceServer serves the main registry at /socket, a registry limited
// to two channels per connection at /limited/socket, and POST /broadcast.
type conformanceServer struct {
	reg     *livestate.Registry
	limited *livestate.Registry
	srv     *httptest.Server
	mux     *http.ServeMux
	logs    *syncBuffer

	nodes int // main registries behind the round robin

	mu     sync.Mutex
	tokens []string // auth tokens offered to the connect hook, in order
}

// newConformanceServer starts the server on 127.0.0.1 and registers its
// shutdown with t.Cleanup.
func newConformanceServer(t *testing.T) *conformanceServer {
	t.Helper()
	return newClusterConformanceServer(t, 1)
}

// newClusterConformanceServer is newConformanceServer with the main registry
// replaced by nodes registries (cluster nodes on an in-memory PubSub, one
// long-poll secret) behind a round robin that sends each HTTP request to
// the next node: long-poll requests of one session reach every node.
func newClusterConformanceServer(t *testing.T, nodes int) *conformanceServer {
	t.Helper()
	return newConformanceServerWith(t, nodes, handler.Compression{})
}

// newConformanceServerWith is newClusterConformanceServer with the
// WebSocket transport's compression set to z on every registry.
func newConformanceServerWith(t *testing.T, nodes int, z handler.Compression) *conformanceServer {
	t.Helper()
	s := &conformanceServer{logs: &syncBuffer{}, nodes: nodes}
	logger := slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	var (
		regs     []*livestate.Registry
		handlers []http.Handler
		bus      = membus.New()
		members  []*cluster.Membership // nil on one node
		leases   = memlease.New(3 * time.Second)
	)
	for i := range nodes {
		cfg := livestate.Config{
			Engine: phx.Config{Logger: logger},
			Socket: handler.Options{Connect: s.connect, Logger: logger, Compression: z},
		}
		if nodes > 1 {
			m := cluster.NewMembership(bus.Node(fmt.Sprintf("n%d", i+1)), cluster.MembershipOptions{Logger: logger})
			members = append(members, m)
			cfg.Engine.PubSub = m
			cfg.LongPoll.Secret = []byte("one long-poll secret for every node")
			cfg.SharedLeaser = leases // shared:* is one state across the nodes
		}
		reg := livestate.NewRegistry(cfg)
		registerChannels(reg)
		regs = append(regs, reg)
		handlers = append(handlers, livestate.Handler(reg))
	}
	s.reg = regs[0]
	var next atomic.Uint64
	main := http.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers[(next.Add(1)-1)%uint64(len(handlers))].ServeHTTP(w, r)
	}))

	s.limited = livestate.NewRegistry(livestate.Config{
		Engine: phx.Config{MaxChannels: 2, Logger: logger},
		Socket: handler.Options{Connect: s.connect, Logger: logger, Compression: z},
	})
	s.limited.Handle("room:*", roomChannel{})

	s.mux = http.NewServeMux()
	s.mux.Handle(socketPath+"/", main)
	s.mux.Handle(limitedSocketPath+"/", livestate.Handler(s.limited))
	s.mux.Handle(blockedSocketPath+"/", blockWebSocket(main))
	s.mux.HandleFunc("POST /broadcast", s.broadcast)
	// How many topics the nodes have local subscribers for while the
	// PubSub has not yet confirmed their subscription: broadcasts from
	// other nodes on them are missed until it lands (the join reply does
	// not wait for the broker). The scenarios wait for 0 after a join.
	s.mux.HandleFunc("GET /pubsub/pending", func(w http.ResponseWriter, _ *http.Request) {
		n := 0
		for _, reg := range regs {
			n += reg.Endpoint().PubSubStats().Pending
		}
		fmt.Fprint(w, n)
	})
	registerPresence(t, s, regs, members)
	registerResume(s)
	s.srv = httptest.NewServer(s.mux)

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, reg := range regs {
			if err := reg.Shutdown(ctx); err != nil {
				t.Errorf("shutdown of the main registry: %v", err)
			}
		}
		if err := s.limited.Shutdown(ctx); err != nil {
			t.Errorf("shutdown of the limited registry: %v", err)
		}
		s.srv.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", s.logs.String())
		}
	})
	return s
}

// registerChannels routes every conformance topic.
func registerChannels(reg *livestate.Registry) {
	reg.Handle("room:*", roomChannel{})
	newCounter := func() livestate.Channel[counterState] { return counterChannel{} }
	reg.Handle("counter:*", livestate.New(newCounter, livestate.Options{}))
	reg.Handle("wrap:*", livestate.New(newCounter, livestate.Options{MaxVersion: 3}))
	reg.Handle("compact:*", livestate.New(newCounter, livestate.Options{CompactWire: true}))
	reg.Handle("gap:*", livestate.New(newCounter, livestate.Options{
		Messages: gapBuilder{Dialect: livestate.LiveStateDialect()},
	}))
	reg.Handle("initerror:*", livestate.New(func() livestate.Channel[counterState] { return initErrorChannel{} }, livestate.Options{}))
	reg.Handle("secret:*", livestate.New(func() livestate.Channel[secretState] { return secretChannel{} }, livestate.Options{}))
	reg.Handle("todo:*", livestate.New(func() livestate.Channel[todoState] { return todoChannel{} }, livestate.Options{}))
	reg.Handle("shared:*", livestate.NewShared[counterState](sharedCounter{}, livestate.Options{}))
}

// sharedCounter is a shared counter (one state per topic; across the nodes
// of the cluster server): "increment" adds one.
type sharedCounter struct{}

func (sharedCounter) Init(context.Context, string) (counterState, error) { return counterState{}, nil }

func (sharedCounter) HandleEvent(_ context.Context, _ *livestate.Socket, event string, _ phx.Payload, st *counterState) error {
	if event != "increment" {
		return fmt.Errorf("unknown event %q", event)
	}
	st.Count++
	return nil
}

// URL is the socket base the JavaScript clients are given.
func (s *conformanceServer) URL() string { return "ws" + s.srv.URL[len("http"):] + socketPath }

// BlockedURL is the socket base whose WebSocket path is refused.
func (s *conformanceServer) BlockedURL() string {
	return "ws" + s.srv.URL[len("http"):] + blockedSocketPath
}

// blockWebSocket answers 403 to WebSocket upgrades and passes the rest on.
func blockWebSocket(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/websocket") {
			http.Error(w, "WebSocket blocked", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// LimitedURL is the socket base of the registry limited to two channels.
func (s *conformanceServer) LimitedURL() string {
	return "ws" + s.srv.URL[len("http"):] + limitedSocketPath
}

// Handle adds a route to the running server (the browser leg serves its
// page from the socket's origin).
func (s *conformanceServer) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Tokens returns the auth tokens the connect hook has seen.
func (s *conformanceServer) Tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tokens)
}

// connect refuses params.reject == "1" and any auth token but validToken;
// the identity is the token, else params.user.
func (s *conformanceServer) connect(_ *http.Request, info *phx.ConnectInfo) error {
	if v, _ := info.Params["reject"].(string); v == "1" {
		return handler.ErrRefused
	}
	if info.AuthToken != "" {
		s.mu.Lock()
		s.tokens = append(s.tokens, info.AuthToken)
		s.mu.Unlock()
		if info.AuthToken != validToken {
			return handler.ErrRefused
		}
		info.Identity = info.AuthToken
		return nil
	}
	info.Identity = info.Params["user"]
	return nil
}

// broadcast serves POST /broadcast?topic=…&event=… with a JSON body, so a
// Node test can publish from "outside" like a REST handler would.
func (s *conformanceServer) broadcast(w http.ResponseWriter, r *http.Request) {
	topic, event := r.URL.Query().Get("topic"), r.URL.Query().Get("event")
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || topic == "" || event == "" || !json.Valid(body) {
		http.Error(w, "need ?topic=&event= and a JSON body", http.StatusBadRequest)
		return
	}
	n, err := s.reg.Broadcast(context.Background(), topic, event, json.RawMessage(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"reached":%d,"nodes":%d}`, n, s.nodes)
}

// roomChannel is a plain Phoenix channel with one event per behaviour.
type roomChannel struct{}

func (roomChannel) Join(_ context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
	if ch.Topic() == "room:crash_join" {
		panic("join crash requested")
	}
	var p struct {
		Fail bool `json:"fail"`
	}
	if err := params.Decode(&p); err != nil {
		return nil, &phx.JoinError{Response: map[string]any{"reason": "bad params"}}
	}
	if p.Fail {
		return nil, &phx.JoinError{Response: map[string]any{"reason": "denied"}}
	}
	return map[string]any{"topic": ch.Topic(), "identity": ch.Identity()}, nil
}

func (roomChannel) HandleIn(_ context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
	if msg.Payload.Binary {
		data := bytes.Clone(msg.Payload.Data)
		switch msg.Event {
		case "bin_echo":
			return phx.Ok(phx.Binary(data)), nil
		case "bin_push":
			slices.Reverse(data)
			return phx.Ok(nil), ch.Push("bin_pushed", phx.Binary(data))
		case "bin_broadcast":
			return phx.Ok(nil), ch.Broadcast("bin_bc", phx.Binary(data))
		}
		return phx.Err(map[string]string{"reason": "unknown binary event " + msg.Event}), nil
	}
	switch msg.Event {
	case "echo":
		return phx.Ok(msg.Payload), nil
	case "shout":
		return phx.Ok(nil), ch.Broadcast("shout", msg.Payload)
	case "push_me":
		return phx.Ok(nil), ch.Push("pushed", msg.Payload)
	case "crash":
		panic("crash requested")
	case "close_me":
		return phx.Ok(nil), ch.Close()
	case "error_reply":
		return phx.Err(map[string]string{"reason": "nope"}), nil
	case "whoami":
		return phx.Ok(map[string]any{"identity": ch.Identity(), "params": ch.ConnectInfo().Params}), nil
	}
	return phx.Err(map[string]string{"reason": "unknown event " + msg.Event}), nil
}

// counterState is the state of counter:*, wrap:*, compact:* and gap:*.
// Note pads the state (join param "note") so that, with CompactWire,
// updates travel as patches rather than full states.
type counterState struct {
	Count int    `json:"count"`
	Note  string `json:"note,omitempty"`
}

type counterChannel struct{}

func (counterChannel) Init(_ context.Context, _ *livestate.Socket, params phx.Payload) (counterState, error) {
	var p struct {
		Start int    `json:"start"`
		Note  string `json:"note"`
	}
	if err := params.Decode(&p); err != nil {
		return counterState{}, fmt.Errorf("bad join params: %w", err)
	}
	return counterState{Count: p.Start, Note: p.Note}, nil
}

func (counterChannel) HandleEvent(_ context.Context, s *livestate.Socket, event string, payload phx.Payload, st *counterState) error {
	switch event {
	case "increment":
		by := struct {
			By *int `json:"by"`
		}{}
		if err := payload.Decode(&by); err != nil {
			return err
		}
		if by.By == nil {
			st.Count++
		} else {
			st.Count += *by.By
		}
	case "noop":
	case "emit_two":
		s.Emit("first", map[string]int{"n": 1})
		s.Emit("second", map[string]int{"n": 2})
		st.Count++
	case "fail":
		return errors.New("failed on purpose")
	case "reply_ok":
		st.Count++
		s.Reply(map[string]int{"count": st.Count})
	default:
		return fmt.Errorf("unknown event %q", event)
	}
	return nil
}

// HandleMessage applies broadcasts "bump" {"by": n} on the channel's topic.
func (counterChannel) HandleMessage(_ context.Context, _ *livestate.Socket, msg any, st *counterState) error {
	b, ok := msg.(*phx.Broadcast)
	if !ok || b.Event != "bump" {
		return nil
	}
	var p struct {
		By int `json:"by"`
	}
	if err := b.Payload.Decode(&p); err != nil {
		return err
	}
	st.Count += p.By
	return nil
}

// gapBuilder sends the update to real version 2 as version 3, once per
// channel, so that the client sees a gap and asks for lvs_refresh.
type gapBuilder struct {
	livestate.Dialect
}

func (g gapBuilder) Patch(patch []byte, version int) (string, []byte) {
	if version == 2 {
		version = 3
	}
	return g.Dialect.Patch(patch, version)
}

// initErrorChannel fails in Init: the join succeeds, then `error` is pushed.
type initErrorChannel struct{}

func (initErrorChannel) Init(context.Context, *livestate.Socket, phx.Payload) (counterState, error) {
	return counterState{}, errors.New("you stink")
}

func (initErrorChannel) HandleEvent(context.Context, *livestate.Socket, string, phx.Payload, *counterState) error {
	return nil
}

// secretChannel refuses joins without params.password == "secret".
type secretChannel struct{}

type secretState struct {
	Authorized bool `json:"authorized"`
}

func (secretChannel) Authorize(_ context.Context, _ *livestate.Socket, params phx.Payload) error {
	var p struct {
		Password string `json:"password"`
	}
	if err := params.Decode(&p); err != nil || p.Password != "secret" {
		return &phx.JoinError{Response: map[string]any{"reason": "Go away!"}}
	}
	return nil
}

func (secretChannel) Init(context.Context, *livestate.Socket, phx.Payload) (secretState, error) {
	return secretState{Authorized: true}, nil
}

func (secretChannel) HandleEvent(context.Context, *livestate.Socket, string, phx.Payload, *secretState) error {
	return nil
}

// todoChannel keeps a list that add, toggle and delete change in the
// middle, so updates are real multi-operation patches.
type todoChannel struct{}

type todo struct {
	ID    int    `json:"id"`
	Title string `json:"title"`
	Done  bool   `json:"done"`
}

type todoState struct {
	Todos []todo `json:"todos"`
}

func (todoChannel) Init(context.Context, *livestate.Socket, phx.Payload) (todoState, error) {
	return todoState{Todos: []todo{}}, nil
}

func (todoChannel) HandleEvent(_ context.Context, _ *livestate.Socket, event string, payload phx.Payload, st *todoState) error {
	var p struct {
		ID    int    `json:"id"`
		Title string `json:"title"`
	}
	if err := payload.Decode(&p); err != nil {
		return err
	}
	switch event {
	case "add":
		next := 1
		for _, t := range st.Todos {
			next = max(next, t.ID+1)
		}
		st.Todos = append(st.Todos, todo{ID: next, Title: p.Title})
	case "toggle":
		for i := range st.Todos {
			if st.Todos[i].ID == p.ID {
				st.Todos[i].Done = !st.Todos[i].Done
			}
		}
	case "delete":
		st.Todos = slices.DeleteFunc(st.Todos, func(t todo) bool { return t.ID == p.ID })
	default:
		return fmt.Errorf("unknown event %q", event)
	}
	return nil
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
