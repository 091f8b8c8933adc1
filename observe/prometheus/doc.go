// Package prometheus exports a Seance server's figures as Prometheus
// metrics: connections by transport and close reason, frames and bytes in
// and out, outbound batch sizes and slow-consumer drops, joins and client
// events by route pattern with their durations, channel ends by reason,
// LiveState full states vs patches, and at scrape time the PubSub link
// (phx.PubSubStats), long-poll sessions and presence totals. It lives in
// its own Go module (github.com/seance-go/seance/observe/prometheus) so
// the core keeps its small dependency set.
//
//	m := prometheus.New(prometheus.Options{})
//	reg := livestate.NewRegistry(livestate.Config{Engine: phx.Config{Observer: m.Observer()}})
//	m.WatchEndpoint(reg.Endpoint())
//	promReg.MustRegister(m)
//	mux.Handle("/metrics", promhttp.HandlerFor(promReg, promhttp.HandlerOpts{}))
//
// Labels are bounded: the transport, the route pattern a topic matched
// ("room:*", never the topic "room:42") and reasons from fixed sets. No
// metric carries a topic, an event name, a user or a token.
//
// grafana-dashboard.json beside this file is a Grafana dashboard of these
// metrics (import it and pick the Prometheus data source).
package prometheus
