// Package cors holds the origin policy of a Seance socket: one value that
// decides which browser origins may talk to the server, applied in the three
// places that need it:
//
//   - the WebSocket upgrade's origin check (refusal: HTTP 403), by passing
//     [Policy.Allowed] as handler.Options.CheckOrigin;
//   - the long-poll transport's origin check (refusal: {"status":403}), by
//     passing the policy as longpoll.Options.Origin;
//   - the CORS response headers of long-poll requests and, if the
//     application wants, of its REST routes ([Policy.Handler], a
//     func(http.Handler) http.Handler that fits chi's r.Use).
//
// The rules are Phoenix's check_origin:
//
//   - no Origins configured: the Origin's host must equal the request's host
//     (scheme and port are not compared);
//   - "https://app.example.com": that scheme, host and port (443 here, the
//     scheme's default, when no port is written);
//   - "//app.example.com": that host with any scheme and port;
//   - "//app.example.com:8443": that host and port with any scheme;
//   - "*.example.com" (also "//*.example.com", "https://*.example.com"):
//     example.com itself and every host under it;
//   - a bare "app.example.com" or "app.example.com:8443" is read as "//…";
//   - [Options.SameOrigin] adds the request's own origin (scheme, host and
//     port), Phoenix's check_origin: :conn.
//
// "The request's host" is its Host header unless [Options.Hosts] lists the
// host names the server answers as (Phoenix compares against the endpoint's
// configured host). The Host header is the client's to choose: a page served
// from a name the attacker points at this server (DNS rebinding) has Origin
// and Host both that name and passes the same-host rule. Set Hosts (or list
// Origins) when the server is reachable under names or addresses you do not
// control, an unauthenticated service on localhost or a private network in
// particular.
//
// Requests without an Origin header (non-browser clients) are always allowed;
// an Origin of "null" or one without a host is refused. [Options.AllowAll]
// turns checking off, for development.
//
// CORS headers are produced by github.com/rs/cors with an origin predicate, so
// the allowed Origin is echoed (with Vary: Origin) and "*" is never sent —
// credentials stay safe. Preflights allow GET, POST and OPTIONS and the
// headers phoenix.js sends (Content-Type, X-Phoenix-Longpoll-Token,
// X-Phoenix-AuthToken). CORS is not access control: a refused origin's actual
// request still reaches the next handler (it only lacks the headers), which is
// why the transports call [Policy.Allowed] themselves.
package cors
