package inspector_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/inspector"
	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/presence"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitTimeout = 5 * time.Second

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newInspector(t *testing.T, authorize func(*http.Request) error) (*inspector.Inspector, *httptest.Server) {
	t.Helper()
	in := inspector.New(inspector.Options{Authorize: authorize, Interval: 20 * time.Millisecond, Engine: phx.Config{Logger: quietLogger()}})
	srv := httptest.NewServer(http.StripPrefix("/seance/inspector", in))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := in.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		srv.Close()
	})
	return in, srv
}

// refused checks that the page, the figures, the WebSocket upgrade and a
// long-poll session are all refused with status, sending header (when not
// empty) or not.
func refused(t *testing.T, srv *httptest.Server, header string, status int) {
	t.Helper()
	base := srv.URL + "/seance/inspector"
	for _, path := range []string{"/", "/figures.json"} {
		req, _ := http.NewRequest("GET", base+path, nil)
		if header != "" {
			req.Header.Set("X-Admin", header)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != status || strings.Contains(string(body), "connections") {
			t.Errorf("GET %s: %d %q, want %d and no figures", path, resp.StatusCode, body, status)
		}
	}
	h := http.Header{}
	if header != "" {
		h.Set("X-Admin", header)
	}
	_, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/socket/websocket?vsn=2.0.0", h)
	if err == nil || resp == nil || resp.StatusCode != status {
		t.Errorf("WebSocket upgrade: %v %v, want HTTP %d", err, resp, status)
	}
	req, _ := http.NewRequest("GET", base+"/socket/longpoll?vsn=2.0.0", nil)
	req.Header = h
	lp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer lp.Body.Close()
	var r struct{ Status int }
	json.NewDecoder(lp.Body).Decode(&r)
	if r.Status != http.StatusForbidden { // long-poll answers every 4xx refusal with 403
		t.Errorf("long-poll open: status %d, want 403", r.Status)
	}
}

func TestRefusedWithoutAuthorize(t *testing.T) {
	_, srv := newInspector(t, nil)
	refused(t, srv, "", http.StatusForbidden)
	refused(t, srv, "yes", http.StatusForbidden)
}

func TestRefusedByAuthorize(t *testing.T) {
	_, srv := newInspector(t, func(r *http.Request) error {
		if r.Header.Get("X-Admin") != "yes" {
			return errors.New("not an admin")
		}
		return nil
	})
	refused(t, srv, "", http.StatusForbidden)
	refused(t, srv, "no", http.StatusForbidden)
}

// TestStreamsFigures: an authorized client joins the inspector channel and
// sees the watched endpoint's connections, channels, crashes and slow
// consumers change live.
func TestStreamsFigures(t *testing.T) {
	in, srv := newInspector(t, func(r *http.Request) error {
		if r.Header.Get("X-Admin") != "yes" {
			return &handler.HTTPError{Status: http.StatusUnauthorized}
		}
		return nil
	})
	refused(t, srv, "", http.StatusUnauthorized)

	// The application's endpoint, watched.
	ep := phx.NewEndpoint(phx.Config{Logger: quietLogger(), Observer: in.Observer()})
	ep.Handle("room:*", phx.HandlerFuncs{InFunc: func(context.Context, *phx.Channel, *phx.Message) (*phx.Reply, error) {
		panic("boom")
	}})
	in.Watch(ep)
	t.Cleanup(func() { ep.Shutdown(context.Background()) })
	app := httptest.NewServer(handler.New(ep, handler.Options{Logger: quietLogger()}))
	t.Cleanup(app.Close)

	h := http.Header{"X-Admin": {"yes"}}
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/seance/inspector/socket/websocket?vsn=2.0.0", h)
	if err != nil {
		t.Fatalf("authorized upgrade: %v", err)
	}
	defer conn.Close()
	conn.WriteMessage(websocket.TextMessage, []byte(`["1","1","inspector","phx_join",{}]`))
	// Read the state updates, applying none: wait for a full state
	// (state:change) or patch mentioning what we look for.
	waitFrame := func(what string, cond func(string) bool) {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(waitTimeout))
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				t.Fatalf("waiting for %s: %v", what, err)
			}
			if cond(string(data)) {
				return
			}
		}
	}
	waitFrame("the join's state", func(s string) bool { return strings.Contains(s, `"state:change"`) })

	user, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(app.URL, "http")+"/websocket?vsn=2.0.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer user.Close()
	waitFrame("the user's connection", func(s string) bool {
		return strings.Contains(s, `"/connections/websocket","value":1`) || strings.Contains(s, `"connections":{"websocket":1}`)
	})
	user.WriteMessage(websocket.TextMessage, []byte(`["1","1","room:1","phx_join",{}]`))
	user.SetReadDeadline(time.Now().Add(waitTimeout))
	if _, reply, err := user.ReadMessage(); err != nil || !strings.Contains(string(reply), `"ok"`) {
		t.Fatalf("user's join: %s %v", reply, err)
	}
	waitFrame("the user's channel", func(s string) bool { return strings.Contains(s, `/channels/room:*","value":1`) })
	user.WriteMessage(websocket.TextMessage, []byte(`["1","2","room:1","crash",{}]`))
	waitFrame("the crash", func(s string) bool { return strings.Contains(s, "/crashes") || strings.Contains(s, `"crashes":[{`) })

	f := in.Figures()
	if len(f.Nodes) != 1 || f.Nodes[0].Sessions != 1 || len(f.Crashes) != 1 || f.Crashes[0].Pattern != "room:*" {
		t.Errorf("figures %+v", f)
	}
	if len(f.Sessions) != 1 || f.Sessions[0].Transport != "websocket" || f.Sessions[0].Remote == "" || f.Sessions[0].Identity != "" {
		t.Errorf("connections %+v: want the user's, without identity (no IdentityLabel)", f.Sessions)
	}
	// The page is served to the authorized.
	req, _ := http.NewRequest("GET", srv.URL+"/seance/inspector/", nil)
	req.Header = h
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("page: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestConnectionList(t *testing.T) {
	in := inspector.New(inspector.Options{Authorize: func(*http.Request) error { return nil }, MaxConnections: 1,
		IdentityLabel: func(id any) string { return "user " + id.(string) }, Engine: phx.Config{Logger: quietLogger()}})
	t.Cleanup(func() { in.Shutdown(context.Background()) })
	ep := phx.NewEndpoint(phx.Config{Logger: quietLogger(), Observer: in.Observer()})
	t.Cleanup(func() { ep.Shutdown(context.Background()) })
	ep.Handle("room:*", phx.HandlerFuncs{})
	in.Watch(ep)
	tr := presence.New(ep, presence.Options{Logger: quietLogger()})
	t.Cleanup(func() { tr.Close(context.Background()) })
	in.WatchPresence(tr)
	ep.Handle("track:*", phx.HandlerFuncs{JoinFunc: func(_ context.Context, ch *phx.Channel, _ phx.Payload) (any, error) {
		_, err := tr.Track(ch, "me", nil)
		return nil, err
	}})
	for _, who := range []string{"ann", "bob"} {
		s, err := ep.Open(phx.ConnectInfo{Transport: "longpoll", RemoteAddr: "192.0.2.7:1", Identity: who}, phx.V2JSON(), false)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Detach)
		s.Receive([]byte(`["1","1","room:`+who+`","phx_join",{}]`), false)
	}
	f := in.Figures()
	if f.Connections["longpoll"] != 2 || f.Nodes[0].Sessions != 2 {
		t.Errorf("counts %+v", f)
	}

	if len(f.Sessions) != 1 {
		t.Fatalf("listed %d connections, want MaxConnections (1)", len(f.Sessions))
	}
	c := f.Sessions[0]
	if c.Remote != "192.0.2.7:1" || !strings.HasPrefix(c.Identity, "user ") || len(c.Topics) != 1 || c.Topics[0] != "room:"+strings.TrimPrefix(c.Identity, "user ") || c.Queued != 1 {
		t.Errorf("connection %+v", c)
	}

	s, err := ep.Open(phx.ConnectInfo{Transport: "longpoll"}, phx.V2JSON(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Detach)
	s.Receive([]byte(`["1","1","track:1","phx_join",{}]`), false)
	if p := in.Figures().Presence; p == nil || *p != (presence.Stats{Topics: 1, Metas: 1, Local: 1}) {
		t.Errorf("presence %+v, want the one tracked", p)
	}
}
