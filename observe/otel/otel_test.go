package otel_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/handler"
	seanceotel "github.com/seance-go/seance/observe/otel"
	"github.com/seance-go/seance/phx"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitTimeout = 5 * time.Second

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// dbQuery stands for the user's own instrumented call inside a handler.
func dbQuery(ctx context.Context, tp trace.TracerProvider) {
	_, span := tp.Tracer("app").Start(ctx, "db.query")
	span.End()
}

func TestSpansPerJoinAndEventOverWebSocket(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })

	ep := phx.NewEndpoint(phx.Config{Logger: quietLogger(), Observer: seanceotel.Observer(seanceotel.Options{TracerProvider: tp})})
	ep.Handle("room:*", phx.HandlerFuncs{
		JoinFunc: func(ctx context.Context, ch *phx.Channel, _ phx.Payload) (any, error) {
			dbQuery(ctx, tp)
			if ch.TopicParam() == "secret" {
				return nil, errors.New("not allowed")
			}
			return nil, nil
		},
		InFunc: func(ctx context.Context, ch *phx.Channel, m *phx.Message) (*phx.Reply, error) {
			dbQuery(ctx, tp)
			switch m.Event {
			case "fail":
				return nil, errors.New("failed")
			case "boom":
				panic("boom")
			}
			return phx.Ok(nil), nil
		},
	})
	srv := httptest.NewServer(handler.New(ep, handler.Options{Logger: quietLogger()}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := ep.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		srv.Close()
	})
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/websocket?vsn=2.0.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	send := func(frame, event string) {
		t.Helper()
		if err := conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(waitTimeout))
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				t.Fatalf("waiting for %s: %v", event, err)
			}
			var f []any
			json.Unmarshal(data, &f)
			if len(f) == 5 && f[3] == event {
				return
			}
		}
	}
	send(`["1","1","room:7","phx_join",{}]`, "phx_reply")
	send(`["2","2","room:secret","phx_join",{}]`, "phx_reply")
	send(`["1","3","room:7","hello",{}]`, "phx_reply")
	send(`["1","4","room:7","fail",{}]`, "phx_reply")
	send(`["1","5","room:7","boom",{}]`, "phx_error")

	deadline := time.Now().Add(waitTimeout)
	for len(rec.Ended()) < 10 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	spans := rec.Ended()
	if len(spans) != 10 {
		t.Fatalf("%d spans ended, want 10 (5 handled, 5 db queries)", len(spans))
	}
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
	}
	type got struct {
		name, event, status string
		crashed             bool
	}
	var handled []got
	for _, s := range spans {
		if s.Name() != "db.query" {
			continue
		}
		parent, ok := byID[s.Parent().SpanID()]
		if !ok {
			t.Fatalf("db.query span has no parent among the handler spans: the span is not in the handler's context")
		}
		g := got{name: parent.Name(), status: parent.Status().Code.String()}
		for _, a := range parent.Attributes() {
			switch a.Key {
			case seanceotel.AttrEvent:
				g.event = a.Value.AsString()
			case seanceotel.AttrCrashed:
				g.crashed = a.Value.AsBool()
			case seanceotel.AttrTopic:
				if !strings.HasPrefix(a.Value.AsString(), "room:") {
					t.Errorf("topic attribute %q", a.Value.AsString())
				}
			}
		}
		if parent.SpanKind() != trace.SpanKindServer {
			t.Errorf("%s: kind %v", g.name, parent.SpanKind())
		}
		handled = append(handled, g)
	}
	want := []got{
		{"phx_join room:*", "phx_join", codes.Unset.String(), false},
		{"phx_join room:*", "phx_join", codes.Error.String(), false},
		{"event room:*", "hello", codes.Unset.String(), false},
		{"event room:*", "fail", codes.Error.String(), false},
		{"event room:*", "boom", codes.Error.String(), true},
	}
	if len(handled) != len(want) {
		t.Fatalf("handler spans %v, want %v", handled, want)
	}
	for i := range want {
		if handled[i] != want[i] {
			t.Errorf("span %d = %+v, want %+v", i, handled[i], want[i])
		}
	}
}
