// Package longpoll is Seance's HTTP long-poll transport: what phoenix.js
// (1.7.x, 1.8.x and main) uses when WebSockets are unavailable or blocked
// (transport: LongPoll, or longPollFallbackMs). It drives the same engine
// sessions as the WebSocket transport, with the same connect step
// (handler.Connector), so a channel cannot tell which transport its client
// uses.
//
// [New] returns an http.Handler; set it as handler.Options.LongPoll and the
// socket mount serves it at <mount>/longpoll.
//
// # Protocol
//
// Every answer is HTTP 200 with Content-Type application/json and
// Cache-Control: no-store; the real status is in the body:
//
//	GET, no/unknown/expired token  {"status":410,"token":T,"messages":[]}   new session
//	GET, frames queued             {"status":200,"token":T,"messages":["[…]",…]}
//	GET, nothing within PollTimeout {"status":204,"token":T,"messages":[]}
//	GET, connect refused / bad vsn {"status":403}   (connect hook 5xx: 500)
//	POST, all frames handed over   {"status":200}
//	POST, unknown/expired session  {"status":410}
//	POST, malformed frame or line  {"status":400}   the session is closed
//	POST, body over MaxBodyBytes   {"status":413}   nothing processed
//	POST, body not valid UTF-8     {"status":400}   nothing processed, the session is closed
//	GET, past MaxSessions(PerIP)   {"status":500}   phoenix.js reconnects with backoff
//	query past ParamLimits (any)   {"status":403}
//	origin refused (any method)    {"status":403}
//
// A GET whose session ends while it waits is answered as a GET with an
// unknown token. Only one GET is served per session: a newer one cancels
// the older, which answers 204. A session is reaped IdleTimeout after its
// last GET (POSTs do not count); its channels end with phx.ErrDisconnected.
// Its outbound queue is the engine's, bounded by phx.Config.QueueLength and
// QueueBytes. No goroutine runs for an idle session.
//
// The session token comes from the X-Phoenix-Longpoll-Token header or,
// for clients up to 1.8.12, from the last "token" query value; a signed
// token found there is removed from the connect parameters of a new session,
// so the application's own "token" parameter stays visible to the connect
// hook. The phoenix.js 1.8 authToken arrives in X-Phoenix-AuthToken and is
// read when a session is created.
//
// POST bodies of type application/x-ndjson hold one frame per line: lines
// starting with '[' (or '{', v1) are text frames, others standard base64
// binary frames; empty lines are skipped. Batches of any length are handed
// to the session in order (Phoenix ≥ 1.8.8 drops lines after the 100th;
// phoenix.js ≤ 1.7.23 sends more). Without that content type the body is
// one text frame. Outbound binary frames are not supported over long-poll:
// the engine refuses binary pushes on these sessions.
//
// # Tokens
//
// A token is base64url(128 random bits) "." base64url(HMAC-SHA256(secret,
// id)). It names its session only; nothing in it comes from the request.
// Tokens signed with another [Options.Secret] are refused (410).
package longpoll
