package cors

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	rscors "github.com/rs/cors"
)

// Options configures a [Policy]. The zero value is Phoenix's default: same
// host as the request, no credentials.
type Options struct {
	// Origins lists the allowed browser origins (forms in the package doc).
	// Empty means "same host as the request". "*" is the same as AllowAll.
	Origins []string
	// SameOrigin also allows the request's own origin: scheme, host and port
	// equal to the request's (Phoenix's check_origin: :conn). With an empty
	// Origins list it makes the policy stricter than the default, which
	// ignores scheme and port.
	SameOrigin bool
	// Hosts lists the host names the server answers as ("app.example.com",
	// "localhost", optionally with a port: "localhost:4000"), as Phoenix's
	// check_origin compares against the endpoint's configured host. When
	// set, "the request's host" in the same-host default and in SameOrigin
	// means one of these, not the request's Host header: a DNS-rebinding
	// page (Origin and Host both the attacker's name, resolving to this
	// server) is then refused. An entry with a port also requires the
	// Origin's port. Empty: the Host header is trusted.
	Hosts []string
	// AllowAll turns origin checking off: every origin is allowed. Meant for
	// development; a browser page on any site can then open the socket with
	// the user's cookies (cross-site WebSocket hijacking).
	AllowAll bool
	// AllowCredentials sends Access-Control-Allow-Credentials: true, so
	// browsers may send cookies with cross-origin requests. The allowed
	// Origin is echoed, never "*".
	AllowCredentials bool
	// AllowedHeaders are request headers allowed by preflights in addition
	// to Accept, Authorization, Content-Type, X-Requested-With,
	// X-Phoenix-Longpoll-Token and X-Phoenix-AuthToken.
	AllowedHeaders []string
	// AllowedMethods are methods allowed by preflights in addition to GET,
	// POST and OPTIONS (for REST routes: PUT, PATCH, DELETE…).
	AllowedMethods []string
	// ExposedHeaders are response headers cross-origin scripts may read.
	ExposedHeaders []string
	// MaxAge is how long, in seconds, browsers may cache a preflight answer
	// (default 3600, as Phoenix; negative sends 0).
	MaxAge int
}

// Headers allowed by every policy's preflights: what phoenix.js and common
// REST clients send.
var defaultHeaders = []string{
	"Accept", "Authorization", "Content-Type", "X-Requested-With",
	"X-Phoenix-Longpoll-Token", "X-Phoenix-AuthToken",
}

// Policy decides which browser origins may use the server. It is safe for
// concurrent use. A nil *Policy behaves as the zero [Options] policy.
type Policy struct {
	allowAll   bool
	sameOrigin bool
	entries    []entry
	hosts      []entry // Options.Hosts: no scheme, no wildcard
	cors       *rscors.Cors
}

// entry is one parsed allowed origin. Empty fields match anything.
type entry struct {
	scheme   string
	host     string // lower case, without "*." when wildcard
	wildcard bool   // host and its subdomains
	port     string
}

// NewPolicy validates opts and returns the policy. An Origins entry without a
// host, with an empty wildcard or with a bad port is an error.
func NewPolicy(opts Options) (*Policy, error) {
	p := &Policy{allowAll: opts.AllowAll, sameOrigin: opts.SameOrigin}
	var errs []error
	for _, o := range opts.Origins {
		if strings.TrimSpace(o) == "*" {
			p.allowAll = true
			continue
		}
		e, err := parseEntry(o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.entries = append(p.entries, e)
	}
	for _, h := range opts.Hosts {
		e, err := parseEntry(h)
		if err == nil && (e.scheme != "" || e.wildcard || strings.ContainsAny(h, "/?#")) {
			err = fmt.Errorf("cors: host %q: want a host name, optionally with a port", h)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.hosts = append(p.hosts, e)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	maxAge := opts.MaxAge
	if maxAge == 0 {
		maxAge = 3600
	}
	p.cors = rscors.New(rscors.Options{
		AllowOriginVaryRequestFunc: func(r *http.Request, origin string) (bool, []string) {
			return p.allowOrigin(r, origin), nil
		},
		AllowedMethods:   append([]string{http.MethodGet, http.MethodPost, http.MethodOptions}, opts.AllowedMethods...),
		AllowedHeaders:   append(append([]string(nil), defaultHeaders...), opts.AllowedHeaders...),
		ExposedHeaders:   opts.ExposedHeaders,
		MaxAge:           maxAge,
		AllowCredentials: opts.AllowCredentials,
	})
	return p, nil
}

// sameHost is the policy of the zero Options.
func sameHost() *Policy {
	p, _ := NewPolicy(Options{}) // cannot fail: no entries
	return p
}

// parseEntry reads one Origins entry.
func parseEntry(raw string) (entry, error) {
	s := strings.ToLower(strings.TrimSpace(raw))
	var e entry
	if i := strings.Index(s, "://"); i >= 0 {
		e.scheme, s = s[:i], s[i+3:]
		if e.scheme == "" {
			return entry{}, fmt.Errorf("cors: origin %q: empty scheme", raw)
		}
	} else {
		s = strings.TrimPrefix(s, "//")
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 { // a path is ignored, as Phoenix does
		s = s[:i]
	}
	host := s
	if h, port, err := net.SplitHostPort(s); err == nil {
		if n, perr := strconv.Atoi(port); perr != nil || n <= 0 || n > 65535 {
			return entry{}, fmt.Errorf("cors: origin %q: bad port %q", raw, port)
		}
		host, e.port = h, port
	} else if strings.HasSuffix(s, ":") {
		return entry{}, fmt.Errorf("cors: origin %q: empty port", raw)
	}
	host = strings.Trim(host, "[]")
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		host, e.wildcard = rest, true
	}
	if host == "" || strings.Contains(host, "*") {
		return entry{}, fmt.Errorf("cors: origin %q has no usable host", raw)
	}
	e.host = host
	if e.port == "" {
		e.port = defaultPort(e.scheme)
	}
	return e, nil
}

// defaultPort is the port a scheme implies ("" for no or unknown scheme).
func defaultPort(scheme string) string {
	switch scheme {
	case "http", "ws":
		return "80"
	case "https", "wss":
		return "443"
	}
	return ""
}

// Allowed reports whether the request's Origin may use the server: true when
// there is no Origin header or checking is off, false for "null" or
// unparsable origins, otherwise the configured rules. Plug it into
// handler.Options.CheckOrigin.
func (p *Policy) Allowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if p == nil {
		p = sameHost()
	}
	return p.allowOrigin(r, origin)
}

// allowOrigin checks a non-empty Origin value.
func (p *Policy) allowOrigin(r *http.Request, origin string) bool {
	if p.allowAll {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return false
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = defaultPort(scheme)
	}
	if p.sameOrigin {
		return p.sameOriginAs(r, scheme, host, port) || p.matchEntries(scheme, host, port)
	}
	if len(p.entries) == 0 {
		return p.ownHost(r, host, port)
	}
	return p.matchEntries(scheme, host, port)
}

// ownHost reports whether host (with port) is one the server answers as:
// one of Options.Hosts, or else the request's Host header (port ignored).
func (p *Policy) ownHost(r *http.Request, host, port string) bool {
	if len(p.hosts) == 0 {
		return strings.EqualFold(host, requestHost(r))
	}
	for _, e := range p.hosts {
		if e.host == host && (e.port == "" || e.port == port) {
			return true
		}
	}
	return false
}

// sameOriginAs reports whether scheme://host:port is the request's own
// origin: the request's scheme and port, and its host (see ownHost).
func (p *Policy) sameOriginAs(r *http.Request, scheme, host, port string) bool {
	rs := "http"
	if r.TLS != nil {
		rs = "https"
	}
	rp := defaultPort(rs)
	if _, p, err := net.SplitHostPort(r.Host); err == nil {
		rp = p
	}
	return scheme == rs && port == rp && p.ownHost(r, host, port)
}

func (p *Policy) matchEntries(scheme, host, port string) bool {
	for _, e := range p.entries {
		if e.matches(scheme, host, port) {
			return true
		}
	}
	return false
}

func (e *entry) matches(scheme, host, port string) bool {
	if e.scheme != "" && e.scheme != scheme {
		return false
	}
	if e.port != "" && e.port != port {
		return false
	}
	if host == e.host {
		return true
	}
	return e.wildcard && strings.HasSuffix(host, "."+e.host)
}

// requestHost is the request's Host without its port.
func requestHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		return strings.ToLower(h)
	}
	return strings.ToLower(strings.Trim(r.Host, "[]"))
}

// Handler adds CORS headers for allowed origins and answers preflight
// requests (OPTIONS with Access-Control-Request-Method) itself. Requests of
// refused origins still reach next, without CORS headers: check
// [Policy.Allowed] where access matters.
func (p *Policy) Handler(next http.Handler) http.Handler {
	if p == nil {
		p = sameHost()
	}
	return p.cors.Handler(next)
}
