package otel_test

import (
	"context"
	"fmt"

	seanceotel "github.com/seance-go/seance/observe/otel"
	"github.com/seance-go/seance/phx"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// Trace joins and client events; a handler's own spans nest under them.
func Example() {
	spans := tracetest.NewSpanRecorder() // an exporter (OTLP…) in real life
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(context.Background())

	ep := phx.NewEndpoint(phx.Config{Logger: quietLogger(), Observer: seanceotel.Observer(seanceotel.Options{TracerProvider: tp})})
	ep.Handle("room:*", phx.HandlerFuncs{
		InFunc: func(ctx context.Context, ch *phx.Channel, m *phx.Message) (*phx.Reply, error) {
			fmt.Println("handler runs in a span:", trace.SpanFromContext(ctx).SpanContext().IsValid())
			return phx.Ok(nil), nil
		},
	})
	sess, _ := ep.Open(phx.ConnectInfo{Transport: "websocket"}, phx.V2JSON(), true)
	sess.Receive([]byte(`["1","1","room:42","phx_join",{}]`), false)
	sess.Receive([]byte(`["1","2","room:42","new_msg",{}]`), false)
	for n := 0; n < 2; {
		frames, _ := sess.Next(context.Background())
		n += len(frames)
	}
	sess.Detach()
	ep.Shutdown(context.Background())
	for _, s := range spans.Ended() {
		fmt.Println(s.Name())
	}
	// Output:
	// handler runs in a span: true
	// phx_join room:*
	// event room:*
}
