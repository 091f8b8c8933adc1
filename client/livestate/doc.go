// Package livestate mirrors the state of a LiveState channel (the protocol
// of the live_state Elixir library and the phx-live-state JS client) over a
// client.Socket.
//
// A Mirror joins the state topic and keeps a copy of the server's state:
// "state:change" {state, version} replaces it at any time; "state:patch"
// {patch, version} is applied as an RFC 6902 patch when version is the
// previous version plus one, or 0 (the server's counter wrapped). A patch
// that skips a version, arrives before any state, or does not apply makes
// the Mirror push "lvs_refresh" {} so the server resends the full state,
// exactly like phx-live-state.
//
// Events go to the server with PushEvent (as "lvs_evt:<name>"); any other
// event the server pushes can be received with On, and "error" pushes with
// OnError.
package livestate
