package client_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/seance-go/seance/client"
	"github.com/seance-go/seance/client/internal/phxtest"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// The helpers of this file run OUR server (livestate.Registry served by
// httptest) for the integration tests of the client.

// goodToken is the only auth token the test server's connect hook accepts
// (besides no token at all).
const goodToken = "good-token"

// transports are the two client transports every integration test runs over.
var transports = []struct {
	name string
	t    client.Transport
}{
	{"websocket", client.WebSocket},
	{"longpoll", client.LongPoll},
}

// serverJoin is what the room handler saw of one join.
type serverJoin struct {
	server  int // generation of the server (1, 2… after restarts)
	topic   string
	joinRef string
	params  json.RawMessage
}

// serverConnect is what the connect hook saw.
type serverConnect struct {
	server int
	info   phx.ConnectInfo
}

// testServer is one generation of the in-test seance server on a listener
// the test controls, so that a restart can reuse the address.
type testServer struct {
	gen      int
	addr     string
	reg      *livestate.Registry
	srv      *httptest.Server
	joins    chan serverJoin
	connects chan serverConnect
	ended    chan error // Terminate reasons of room channels
	stopped  bool
}

// startServer serves a fresh registry on ln (nil: a new port).
func startServer(t *testing.T, gen int, ln net.Listener) *testServer {
	t.Helper()
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	ts := &testServer{
		gen:      gen,
		addr:     ln.Addr().String(),
		joins:    make(chan serverJoin, 100),
		connects: make(chan serverConnect, 100),
		ended:    make(chan error, 100),
	}
	ts.reg = livestate.NewRegistry(livestate.Config{
		Engine: phx.Config{Logger: slog.New(slog.DiscardHandler)},
		Socket: handler.Options{Connect: ts.connect, Logger: slog.New(slog.DiscardHandler)},
	})
	ts.reg.Handle("room:*", &roomHandler{ts: ts})
	srv := httptest.NewUnstartedServer(livestate.Handler(ts.reg))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	ts.srv = srv
	t.Cleanup(ts.stop)
	return ts
}

// stop shuts the registry down (closing every WebSocket and long-poll
// session) and then the HTTP server and its listener.
func (ts *testServer) stop() {
	if ts.stopped {
		return
	}
	ts.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = ts.reg.Shutdown(ctx)
	ts.srv.Close()
}

// restart stops ts and starts the next generation with a fresh registry on
// the same address.
func (ts *testServer) restart(t *testing.T) *testServer {
	t.Helper()
	ts.stop()
	ln, err := net.Listen("tcp", ts.addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", ts.addr, err)
	}
	return startServer(t, ts.gen+1, ln)
}

// url is the socket endpoint; the client appends /websocket or /longpoll.
func (ts *testServer) url() string { return "ws://" + ts.addr + "/socket" }

// connect is the connect hook: no token is anonymous, goodToken identifies
// the user named by the "user" connect param, any other token is refused.
func (ts *testServer) connect(_ *http.Request, info *phx.ConnectInfo) error {
	select {
	case ts.connects <- serverConnect{ts.gen, *info}:
	default:
	}
	switch info.AuthToken {
	case "":
		info.Identity = "anonymous"
	case goodToken:
		info.Identity = fmt.Sprintf("user:%v", info.Params["user"])
	default:
		return handler.ErrRefused
	}
	return nil
}

// roomHandler is the plain channel of the tests.
type roomHandler struct{ ts *testServer }

func (h *roomHandler) Join(_ context.Context, ch *phx.Channel, params phx.Payload) (any, error) {
	h.ts.joins <- serverJoin{server: h.ts.gen, topic: ch.Topic(), joinRef: ch.JoinRef(), params: append(json.RawMessage(nil), params.Data...)}
	return map[string]any{"joined": ch.Topic(), "server": h.ts.gen}, nil
}

func (h *roomHandler) HandleIn(_ context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
	data := msg.Payload.Data
	switch msg.Event {
	case "echo":
		return phx.Ok(phx.Raw(data)), nil
	case "whoami":
		info := ch.ConnectInfo()
		return phx.Ok(map[string]any{
			"identity": ch.Identity(), "params": info.Params, "transport": info.Transport,
			"server": h.ts.gen, "join_ref": ch.JoinRef(),
		}), nil
	case "shout":
		return phx.Ok(nil), ch.Broadcast("shout", phx.Raw(data))
	case "push_me":
		return phx.Ok(nil), ch.Push("server_push", phx.Raw(data))
	case "bin":
		// Answers a binary push with its bytes reversed, as a binary reply.
		if !msg.Payload.Binary {
			return phx.Err(map[string]string{"reason": "not binary"}), nil
		}
		out := make([]byte, len(data))
		for i, b := range data {
			out[len(data)-1-i] = b
		}
		return phx.Ok(phx.Binary(out)), nil
	case "bin_info":
		// Describes an inbound payload in JSON, which every transport can carry.
		return phx.Ok(map[string]any{"binary": msg.Payload.Binary, "data": base64.StdEncoding.EncodeToString(data)}), nil
	case "push_bin":
		// Pushes a binary frame and says whether the engine refused it.
		err := ch.Push("bin_push", phx.Binary{0xde, 0xad, 0xbe, 0xef})
		return phx.Ok(map[string]any{"unsupported": errors.Is(err, phx.ErrBinaryUnsupported), "ok": err == nil}), nil
	case "crash":
		panic("room: crash requested by the test")
	}
	return phx.Err(map[string]string{"reason": "unknown event " + msg.Event}), nil
}

func (h *roomHandler) Terminate(_ context.Context, _ *phx.Channel, reason error) {
	select {
	case h.ts.ended <- reason:
	default:
	}
}

// integrationOptions are client options with quick backoffs and no
// heartbeats, over transport tr.
func integrationOptions(tr client.Transport, o *client.Options) *client.Options {
	if o == nil {
		o = &client.Options{}
	}
	o.Transport = tr
	if o.Timeout == 0 {
		o.Timeout = phxtest.Wait
	}
	if o.ReconnectAfter == nil {
		o.ReconnectAfter = func(int) time.Duration { return 5 * time.Millisecond }
	}
	return fast(o)
}

func dialServer(t *testing.T, ts *testServer, tr client.Transport, o *client.Options) *client.Socket {
	t.Helper()
	s, err := client.Dial(testCtx(t), ts.url(), integrationOptions(tr, o))
	if err != nil {
		t.Fatalf("Dial %s: %v", tr, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// decodeJSON unmarshals raw into a generic tree, failing the test on error.
func decodeJSON(t *testing.T, raw []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("bad JSON %q: %v", raw, err)
	}
	return v
}

// mustPush pushes and requires an ok reply, returning its decoded response.
func mustPush(t *testing.T, ch *client.Channel, event string, payload any) any {
	t.Helper()
	r, err := ch.Push(testCtx(t), event, payload)
	if err != nil {
		t.Fatalf("push %q: %v", event, err)
	}
	if r.Err() != nil {
		t.Fatalf("push %q: %v", event, r.Err())
	}
	return decodeJSON(t, r.Response)
}
