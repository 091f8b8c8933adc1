// Package livestate serves LiveState channels: state that lives on the
// server, is changed by client events, server messages and broadcasts, and is
// streamed to the client as a full state (state:change) followed by RFC 6902
// JSON patches (state:patch) with versions. The unmodified phx-live-state
// JavaScript client works against it as it does against Elixir's live_state.
//
// A [Registry] routes topics to channels — LiveState channels made with [New]
// and plain Phoenix channels (any phx.Handler) side by side on one socket —
// and [Handler] mounts it in any router:
//
//	reg := livestate.NewRegistry(livestate.Config{})
//	reg.Handle("todo:*", livestate.New(func() livestate.Channel[Todos] { return &TodoChannel{} }, livestate.Options{}))
//	reg.Handle("room:*", chatRoom) // a plain phx.Handler
//	r.Mount("/socket", livestate.Handler(reg))
//
// # Lifecycle on the wire
//
//  1. phx_join: the optional [Authorizer] may refuse (join error reply);
//     otherwise the join reply is ok.
//  2. Init runs with the join params: state:change {state, version: 0}; an
//     Init error pushes an `error` event ({"message": …}) and the join stays.
//  3. lvs_evt:NAME runs HandleEvent; events emitted with [Socket.Emit] are
//     pushed in order under their own names, then one state:patch
//     {patch, version} with the next version, as live_state sends it: the
//     patch is [] when nothing changed. lvs_refresh gets state:change with the
//     current state and version.
//  4. Values sent with [Socket.Send], broadcasts on the channel's topic and
//     on topics it subscribed to reach [MessageHandler] with the same output.
//
// Versions count 0, 1, … MaxVersion, 0, … per channel.
//
// [Options].CompactWire trades this exact wire for fewer bytes: a callback
// that changes nothing sends nothing, and a patch not smaller than the
// state is replaced by a state:change.
//
// # What an update costs
//
// After each callback the state is encoded with encoding/json and compared
// with the JSON last sent; when it differs, the differ (diff.Default) works
// on the two texts directly ([diff.BytesDiffer]): nothing is decoded, and
// of a large state it reads little more than the part before the first
// change. Encoding the state is then most of the cost — about one
// json.Marshal of it per callback.
//
// For large states changed a little at a time, use a [Doc] as the state
// (Channel[*Doc]): its edits are recorded as patch operations as they are
// made ([PatchRecorder]), so an update costs what the change costs, with
// no encoding of the state and no diff. The whole state is encoded only
// when a client needs all of it.
//
// # Reconnects
//
// A channel whose connection dropped (not a leave) is kept for
// [Options].ResumeGrace (30 s). When the same client — the same identity
// from the connect hook, topic and [ClientIDParam] connect param — rejoins
// in time, Init does not run: the client gets the kept state at its version
// as a state:change and later patches continue the sequence; [Resumer] can
// catch up on what happened meanwhile. Otherwise the close hook runs with
// [ErrResumeExpired] when the period ends.
//
// # Shared state
//
// [NewShared] serves a [SharedChannel]: one state per topic for all its
// clients (a room, a board, a dashboard) instead of one per client. Each
// change is diffed once and the same encoded frame is queued to every
// client; versions count per topic; a client joining late receives the
// current state at the current version; a broadcast on the topic runs
// [SharedMessageHandler].HandleMessage once. It works with Doc states too.
// With [Config].SharedLeaser a topic is one state across the nodes, owned
// by one node at a time; with [Config].SharedSnapshots a new owner starts
// from the state the old one stored (see [SharedChannel]).
//
// # Differences from live_state
//
// Handler errors are pushed as `error` events instead of crashing the
// channel, and [Socket.Reply] answers the client's push with a phx_reply
// (Synq-style status replies); live_state never replies to lvs_evt pushes.
package livestate
