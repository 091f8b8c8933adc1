// Package middleware holds net/http middleware for the routes in front of a
// Seance socket and for the application's REST routes. Each is a plain
// func(http.Handler) http.Handler that composes with chi's r.Use, r.With and
// r.Group, and keeps http.Hijacker working so WebSocket upgrades pass.
//
//   - [ExtractAuthToken] puts the request's auth token (Authorization
//     bearer, the phoenix.js 1.8 subprotocol, X-Phoenix-AuthToken, a query
//     key) in the context; read it with [AuthToken] in the socket's connect
//     hook or in REST handlers.
//   - [Logger] logs requests with log/slog; upgrades are logged when the
//     connection closes, with their duration.
//   - [RateLimiter] is a per-client token bucket with bounded memory;
//     [RateLimit] limits HTTP requests (429), [LimitConnect] limits socket
//     connection attempts through the connect hook, and [LimitJoins] (a phx.Config.BeforeJoin hook, or
//     [RateLimiter.CheckJoin] from a Join) limits channel joins with a join error.
//   - [Recoverer] turns panics of ordinary HTTP handlers into 500s.
package middleware
