package otel

import (
	"context"

	"github.com/seance-go/seance/phx"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the spans.
const ScopeName = "github.com/seance-go/seance/observe/otel"

// Options configure [Observer]. Zero fields take the defaults.
type Options struct {
	// TracerProvider makes the tracer (default: the global one,
	// otel.GetTracerProvider()).
	TracerProvider trace.TracerProvider
}

// Attribute keys of the spans.
const (
	AttrPattern   = attribute.Key("seance.pattern")
	AttrTopic     = attribute.Key("seance.topic")
	AttrEvent     = attribute.Key("seance.event")
	AttrTransport = attribute.Key("seance.transport")
	AttrJoinRef   = attribute.Key("seance.join_ref")
	AttrCrashed   = attribute.Key("seance.crashed")
)

// Observer returns a phx.Observer that traces joins and client events.
func Observer(opts Options) *phx.Observer {
	tp := opts.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	tracer := tp.Tracer(ScopeName)
	start := func(prefix string) func(ctx context.Context, e phx.EventInfo) context.Context {
		return func(ctx context.Context, e phx.EventInfo) context.Context {
			ctx, _ = tracer.Start(ctx, prefix+e.Pattern, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
				AttrPattern.String(e.Pattern), AttrTopic.String(e.Topic), AttrEvent.String(e.Event),
				AttrTransport.String(e.Transport), AttrJoinRef.String(e.JoinRef),
			))
			return ctx
		}
	}
	return &phx.Observer{
		JoinStart:  start("phx_join "),
		JoinDone:   end,
		EventStart: start("event "),
		EventDone:  end,
	}
}

// end ends the span JoinStart or EventStart put in ctx.
func end(ctx context.Context, e phx.EventInfo) {
	span := trace.SpanFromContext(ctx)
	switch {
	case e.Crashed:
		span.SetAttributes(AttrCrashed.Bool(true))
		span.SetStatus(codes.Error, "handler panicked")
	case e.Err != nil:
		span.SetStatus(codes.Error, e.Err.Error())
	}
	span.End()
}
