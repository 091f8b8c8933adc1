package middleware

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/gorilla/websocket"

	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func nextRecord(t *testing.T, logs records) slog.Record {
	t.Helper()
	select {
	case r := <-logs:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no log record")
		return slog.Record{}
	}
}

func TestLoggerRequest(t *testing.T) {
	logs := make(records, 10)
	h := Logger(slog.New(logs))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			http.Error(w, "no", http.StatusBadGateway)
			return
		}
		w.Write([]byte("hello"))
		http.NewResponseController(w).Flush()
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ok?token=secret", nil))
	if !rec.Flushed {
		t.Error("Flush did not reach the underlying writer")
	}
	r := nextRecord(t, logs)
	a := attrs(r)
	if r.Message != "http request" || r.Level != slog.LevelInfo || a["status"].Int64() != 200 || a["bytes"].Int64() != 5 ||
		a["path"].String() != "/ok" || a["method"].String() != "GET" {
		t.Errorf("record %q %v %v", r.Message, r.Level, a)
	}
	for _, v := range a {
		if strings.Contains(v.String(), "secret") {
			t.Errorf("the query string was logged: %v", a)
		}
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/fail", nil))
	if r := nextRecord(t, logs); r.Level != slog.LevelError || attrs(r)["status"].Int64() != 502 {
		t.Errorf("5xx record %v %v", r.Level, attrs(r))
	}
}

// TestWebSocketThroughChiMiddleware mounts a Seance socket behind chi with
// every middleware of the package: the upgrade works, the connect hook sees
// the auth token, and the logger reports the upgrade when it ends.
func TestWebSocketThroughChiMiddleware(t *testing.T) {
	logs := make(records, 100)
	log := slog.New(logs)
	ep := phx.NewEndpoint(phx.Config{Logger: quietLog()})
	ep.Handle("room:*", phx.HandlerFuncs{})
	tokens := make(chan string, 1)
	socket := handler.New(ep, handler.Options{Logger: quietLog(), Connect: func(r *http.Request, info *phx.ConnectInfo) error {
		tok, _ := AuthToken(r.Context())
		tokens <- tok
		return nil
	}})
	r := chi.NewRouter()
	r.Use(Logger(log), Recoverer(log), ExtractAuthToken(AuthTokenOptions{}), RateLimit(NewRateLimiter(RateLimitOptions{})))
	r.Mount("/socket", socket)
	srv := httptest.NewServer(r)
	defer srv.Close()
	defer ep.Shutdown(context.Background())

	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket/websocket?vsn=2.0.0"
	dialer := websocket.Dialer{Subprotocols: []string{"phoenix", handler.AuthTokenPrefix + base64.RawStdEncoding.EncodeToString([]byte("user-42"))}}
	conn, resp, err := dialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial through middleware: %v", err)
	}
	if resp.Header.Get("Sec-Websocket-Protocol") != "phoenix" {
		t.Errorf("subprotocol %q", resp.Header.Get("Sec-Websocket-Protocol"))
	}
	if tok := <-tokens; tok != "user-42" {
		t.Errorf("connect hook saw auth token %q", tok)
	}
	conn.WriteMessage(websocket.TextMessage, []byte(`[null,"1","phoenix","heartbeat",{}]`))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := conn.ReadMessage()
	if err != nil || !strings.Contains(string(msg), `"phx_reply"`) {
		t.Fatalf("heartbeat reply %q, %v", msg, err)
	}
	select {
	case r := <-logs:
		t.Fatalf("logged before the upgrade ended: %q %v", r.Message, attrs(r))
	default:
	}
	conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	conn.Close()
	r1 := nextRecord(t, logs)
	a := attrs(r1)
	if r1.Message != "http upgrade" || a["status"].Int64() != 101 || a["path"].String() != "/socket/websocket" ||
		a["upgrade"].String() != "websocket" || a["duration"].Duration() <= 0 {
		t.Errorf("upgrade record %q %v", r1.Message, a)
	}
}
