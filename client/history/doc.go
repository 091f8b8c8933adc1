// Package history is the Go client side of the server's history package:
// a [Stream] follows the position of the messages of a tracked topic and,
// when its channel rejoins after a reconnect, sends that position so the
// server replays what was missed, in order, before live messages.
//
//	st := history.New(sock, "room:lobby", nil)
//	st.Channel().On("msg", handle)
//	st.OnRecovery(func(ok bool) { if !ok { reload() } })
//	st.Channel().Join(ctx)
package history
