// Package presence tracks who is on a topic and tells its clients, on the
// wire of Phoenix.Presence, so that phoenix.js's Presence (1.7 and 1.8)
// works unchanged: a channel pushes `presence_state` (key → {"metas":[…]},
// every meta carrying a unique `phx_ref`, and `phx_ref_prev` after an
// update) to its client after the join, and every change reaches all the
// topic's clients as `presence_diff` ({"joins":…,"leaves":…}).
//
// One [Tracker] serves an endpoint. A channel tracks itself under a key
// (usually the user id) with a meta (any JSON object): one key may hold
// several metas, one per channel (one user, three tabs). [Tracker.Update]
// replaces a meta, [Tracker.Untrack] removes it, and every entry of a
// channel is removed by itself when the channel ends, whatever the reason
// (leave, disconnect, crash, shutdown, slow consumer). [Tracker.List] reads
// a topic from anywhere, a REST handler for instance.
//
// Changes are batched: each topic's joins and leaves of one
// [Options.Interval] go out as one presence_diff, encoded once for all of
// the node's subscribers. An optional [Options.Fetch] hook enriches the
// presences (user names from a database) once per diff and once per state,
// never once per subscriber.
//
// LiveState channels use the same calls through livestate.Socket.Channel;
// the presence_diff broadcasts of their own topic reach their
// HandleMessage, where [IsDiff] recognizes them and [Tracker.List] gives the
// list to put into the state.
//
// In a cluster (an endpoint with a PubSub adapter), [Options.Cluster]
// replicates the entries: each node owns its own, other nodes keep a
// replica, and a node that goes silent is declared down and its entries
// leave everywhere (see package cluster). The replica travels apart from the
// presence_diff broadcasts, so [Tracker.List] on one node can trail, for a
// moment, the diffs its clients already received from another node's
// members.
package presence
