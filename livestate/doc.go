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
//     {patch, version} (or a state:change when the patch would not be smaller
//     than the state). lvs_refresh gets state:change with the current state
//     and version.
//  4. Values sent with [Socket.Send], broadcasts on the channel's topic and
//     on topics it subscribed to reach [MessageHandler] with the same output.
//
// Versions count 0, 1, … MaxVersion, 0, … per channel.
//
// # Differences from live_state
//
// A handler that leaves the synced state unchanged and emits nothing sends
// nothing: live_state sends an empty patch and bumps the version. Handler
// errors are pushed as `error` events instead of crashing the channel, and
// [Socket.Reply] answers the client's push with a phx_reply (Synq-style
// status replies); live_state never replies to lvs_evt pushes.
package livestate
