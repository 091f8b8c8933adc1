// Package otel traces a Seance server with OpenTelemetry: a span per
// channel join and per client event, started before the handler runs and
// carried in the context it receives, so that the spans of the user's own
// calls (a database query in HandleEvent or HandleIn) nest under it. It
// lives in its own Go module (github.com/seance-go/seance/observe/otel) so
// the core keeps its small dependency set.
//
//	ep := phx.NewEndpoint(phx.Config{Observer: otel.Observer(otel.Options{})})
//
// Span names carry the route pattern ("phx_join room:*", "event room:*"),
// never the topic or the event name, which come from clients; those are
// attributes (seance.topic, seance.event), with seance.pattern,
// seance.transport and seance.join_ref. A refused join or an event that
// returned an error or an error reply ends its span with status Error; a
// handler that panicked, with seance.crashed=true. Combine with the
// Prometheus observer with phx.Observers.
package otel
