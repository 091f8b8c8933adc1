// Package inspector is a live view of a running Seance server for its
// operators, built on Seance itself: a LiveState channel ("inspector")
// streams the figures an [Inspector] collects through the engine's
// phx.Observer — connections by transport, joined channels and events per
// second by route pattern, a topics table (subscribers per node, events per
// second, a shared LiveState topic's state version and size, presence),
// the PubSub link, recent crashes and slow consumers — to phx-live-state
// clients (new LiveState({url: ".../socket", topic: "inspector"})).
//
// The page served at / is such a client: it loads the phx-live-state ES
// module from Options.ClientModuleURL (default [DefaultClientModuleURL], a
// pinned version on jsDelivr) and renders every state the channel sends.
// When the module cannot load (offline, a Content-Security-Policy) it polls
// figures.json every second instead, and shows which mode it is in. To
// serve the module yourself, bundle `export * from 'phx-live-state'; export
// { default } from 'phx-live-state';` with your assets and set
// ClientModuleURL to its URL (examples/stdlib does).
//
// The topics table is taken when the figures are (a viewer's tick,
// figures.json, a cluster heartbeat) by walking the sessions, and lists at
// most Options.MaxTopics topics, the busiest first; per event the inspector
// only counts, by topic.
//
//	in := inspector.New(inspector.Options{Authorize: isAdmin})
//	ep := phx.NewEndpoint(phx.Config{Observer: in.Observer()}) // or phx.Observers(…, in.Observer())
//	in.Watch(ep)
//	mux.Handle("/seance/inspector/", http.StripPrefix("/seance/inspector", in))
//	defer in.Shutdown(ctx)
//
// With Options.Cluster (the cluster.Membership the endpoint uses as its
// PubSub), the figures are cluster-wide: every node's figures ride on the
// membership heartbeats, and a node that goes down leaves the list.
//
// The handler serves the inspector's own socket at /socket (WebSocket and
// long-poll), its page at / and the figures as JSON at /figures.json. Every request is refused (HTTP 403 for the
// WebSocket upgrade and the page, {"status":403} for long-poll) unless
// Options.Authorize accepts it; without Authorize everything is refused.
package inspector
