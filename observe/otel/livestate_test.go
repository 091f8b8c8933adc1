package otel_test

import (
	"context"
	"testing"

	"github.com/seance-go/seance/livestate"
	seanceotel "github.com/seance-go/seance/observe/otel"
	"github.com/seance-go/seance/phx"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

type spanState struct {
	Traced bool `json:"traced"`
}

type spanChannel struct{}

func (spanChannel) Init(context.Context, *livestate.Socket, phx.Payload) (spanState, error) {
	return spanState{}, nil
}

func (spanChannel) HandleEvent(ctx context.Context, _ *livestate.Socket, _ string, _ phx.Payload, st *spanState) error {
	st.Traced = trace.SpanFromContext(ctx).SpanContext().IsValid()
	return nil
}

// TestHandleEventRunsInTheEventSpan: a LiveState HandleEvent receives the
// event's span in its context.
func TestHandleEventRunsInTheEventSpan(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	reg := livestate.NewRegistry(livestate.Config{Engine: phx.Config{Logger: quietLogger(),
		Observer: seanceotel.Observer(seanceotel.Options{TracerProvider: tp})}})
	t.Cleanup(func() { reg.Shutdown(context.Background()) })
	reg.Handle("s:*", livestate.New(func() livestate.Channel[spanState] { return spanChannel{} }, livestate.Options{CompactWire: true}))
	sess, err := reg.Endpoint().Open(phx.ConnectInfo{Transport: "websocket"}, phx.V2JSON(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Detach()
	sess.Receive([]byte(`["1","1","s:1","phx_join",{}]`), false)
	sess.Receive([]byte(`["1","2","s:1","lvs_evt:go",{}]`), false)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for {
		frames, err := sess.Next(ctx)
		if err != nil {
			t.Fatalf("no state update with traced=true: %v", err)
		}
		for _, f := range frames {
			if string(f.Data) == `["1",null,"s:1","state:change",{"state":{"traced":true},"version":1}]` {
				return
			}
		}
	}
}
