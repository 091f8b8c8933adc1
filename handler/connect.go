package handler

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/seance-go/seance/phx"
)

// ConnectFunc is the socket-level connect hook (Phoenix's connect/3). It runs
// once per connection, before any channel is joined, with the HTTP request
// (headers, cookies, context values set by middleware) and the decoded
// connect info. It may set info.Identity, and info.ID to name the
// connection for phx.Endpoint.DisconnectID. A non-nil error refuses the
// connection: HTTP 403 on the WebSocket upgrade, {"status":403} on long-poll,
// or the status of an [*HTTPError].
type ConnectFunc func(r *http.Request, info *phx.ConnectInfo) error

// HTTPError refuses a connection with a specific HTTP status (for example
// 429 from a rate limiter).
type HTTPError struct {
	Status int
	Reason string
}

func (e *HTTPError) Error() string { return fmt.Sprintf("handler: %d %s", e.Status, e.Reason) }

// ErrRefused is a generic refusal a ConnectFunc may return.
var ErrRefused = errors.New("handler: connection refused")

// AuthTokenPrefix is the WebSocket subprotocol prefix phoenix.js 1.8 uses to
// carry its authToken: "base64url.bearer.phx.<base64 of the token>".
const AuthTokenPrefix = "base64url.bearer.phx."

// Connector performs the connect step shared by every transport.
type Connector struct {
	// Endpoint is the engine sessions are opened on.
	Endpoint *phx.Endpoint
	// Connect is the application's hook; nil accepts every connection.
	Connect ConnectFunc
	// Limits bounds the query string; zero fields take the defaults.
	Limits ParamLimits
}

// ParamLimits bounds what a client's query string (its connect parameters)
// may hold. They are checked on the raw query, before it is parsed and
// before the connect hook runs, so that an unauthenticated client cannot
// make the server allocate much more than it sent (decoding bracket keys
// builds a nested map per level). Zero fields take the defaults.
type ParamLimits struct {
	// MaxQueryBytes caps the raw query string (default 8 KiB; Phoenix's
	// Cowboy refuses request lines over 8000 bytes). Past it: HTTP 414.
	MaxQueryBytes int
	// MaxParams caps the key=value pairs of the query, "vsn", long-poll's
	// "token" and repeated keys included (default 100). Past it: HTTP 400.
	MaxParams int
	// MaxDepth caps the brackets of one key: "user[name]" has depth 1,
	// "a[b][]" depth 2 (default 8; Node's qs allows 5, Rack 32). Past it:
	// HTTP 400.
	MaxDepth int
}

const (
	defaultMaxQueryBytes = 8 << 10
	defaultMaxParams     = 100
	defaultMaxDepth      = 8
)

// withDefaults fills in the zero (or negative) limits.
func (l ParamLimits) withDefaults() ParamLimits {
	if l.MaxQueryBytes <= 0 {
		l.MaxQueryBytes = defaultMaxQueryBytes
	}
	if l.MaxParams <= 0 {
		l.MaxParams = defaultMaxParams
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = defaultMaxDepth
	}
	return l
}

// CheckQuery refuses a request whose query string passes c.Limits, with an
// [*HTTPError] (414 or 400, the reason says which limit). It reads the raw
// query without allocating. [Connector.Open] calls it first; transports
// that parse the query before (long-poll's session token) call it earlier.
func (c *Connector) CheckQuery(r *http.Request) error {
	l := c.Limits.withDefaults()
	raw := r.URL.RawQuery
	if len(raw) > l.MaxQueryBytes {
		return &HTTPError{Status: http.StatusRequestURITooLong,
			Reason: fmt.Sprintf("query string of %d bytes, the limit is %d", len(raw), l.MaxQueryBytes)}
	}
	n := 0
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		if n++; n > l.MaxParams {
			return &HTTPError{Status: http.StatusBadRequest,
				Reason: fmt.Sprintf("more than %d query parameters", l.MaxParams)}
		}
		key, _, _ := strings.Cut(pair, "=")
		if d := keyDepth(key); d > l.MaxDepth {
			return &HTTPError{Status: http.StatusBadRequest,
				Reason: fmt.Sprintf("query parameter nested %d deep, the limit is %d", d, l.MaxDepth)}
		}
	}
	return nil
}

// keyDepth counts the opening brackets of a raw (still escaped) query key,
// which bounds the levels [ParseParams] makes of it.
func keyDepth(key string) int {
	n := strings.Count(key, "[")
	if strings.IndexByte(key, '%') >= 0 {
		n += strings.Count(key, "%5B") + strings.Count(key, "%5b")
	}
	return n
}

// Open checks the query against c.Limits, negotiates the protocol version,
// decodes the connect parameters, runs the connect hook and opens a
// session. The returned status is the HTTP status to refuse with when err
// is not nil.
func (c *Connector) Open(r *http.Request, transport, authToken string, binary bool) (sess *phx.Session, status int, err error) {
	if err := c.CheckQuery(r); err != nil {
		var he *HTTPError
		errors.As(err, &he)
		return nil, he.Status, err
	}
	query := r.URL.Query()
	ser, ok := phx.SerializerFor(lastValue(query, "vsn"))
	if !ok {
		return nil, http.StatusForbidden, fmt.Errorf("handler: unsupported protocol version %q", lastValue(query, "vsn"))
	}
	info := phx.ConnectInfo{
		Transport:  transport,
		Params:     ParseParams(query),
		AuthToken:  authToken,
		RemoteAddr: r.RemoteAddr,
	}
	if c.Connect != nil {
		if err := c.Connect(r, &info); err != nil {
			var he *HTTPError
			if errors.As(err, &he) {
				return nil, he.Status, err
			}
			return nil, http.StatusForbidden, err
		}
	}
	sess, err = c.Endpoint.Open(info, ser, binary)
	if err != nil {
		return nil, http.StatusServiceUnavailable, err
	}
	return sess, 0, nil
}

func lastValue(v url.Values, key string) string {
	vs := v[key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// ParseParams decodes query parameters the way Phoenix (Plug) does:
// "user[name]=x" becomes {"user":{"name":"x"}}, "ids[]=1&ids[]=2" becomes
// {"ids":["1","2"]}, and of duplicated plain keys the last one wins. Values
// are strings. url.Values does not keep the order of different keys, so
// keys are applied in sorted order: when a plain key and a bracket key
// collide ("a=1&a[b]=2") the bracket key wins, whatever the order sent.
// Each level of a bracket key makes a map: bound untrusted input first, as
// [Connector.CheckQuery] does.
func ParseParams(q url.Values) map[string]any {
	out := map[string]any{}
	keys := make([]string, 0, len(q))
	for key := range q {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		for _, v := range q[key] {
			setParam(out, key, v)
		}
	}
	return out
}

// setParam stores one key=value pair. Go's url.Values loses the order of
// different keys but keeps the order of one key's values, which is all the
// "last wins" rule needs.
func setParam(root map[string]any, key, value string) {
	path, ok := splitKey(key)
	if !ok {
		root[key] = value // unbalanced brackets: keep the key as it is
		return
	}
	cur := root
	for i, seg := range path {
		if i == len(path)-1 {
			cur[seg] = value
			return
		}
		if i+2 == len(path) && path[i+1] == "" { // key[] appends to a list
			list, _ := cur[seg].([]any)
			cur[seg] = append(list, value)
			return
		}
		next, ok := cur[seg].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[seg] = next
		}
		cur = next
	}
}

// splitKey splits "a[b][c]" into [a b c].
func splitKey(key string) ([]string, bool) {
	i := strings.IndexByte(key, '[')
	if i <= 0 {
		return []string{key}, true
	}
	path := []string{key[:i]}
	for rest := key[i:]; rest != ""; {
		if rest[0] != '[' {
			return nil, false
		}
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return nil, false
		}
		path = append(path, rest[1:j])
		rest = rest[j+1:]
	}
	return path, true
}

// AuthTokenFromProtocols finds the phoenix.js 1.8 auth token among offered
// WebSocket subprotocols and decodes it leniently (standard or URL base64
// alphabet, padded or not). It returns the remaining protocols.
func AuthTokenFromProtocols(protocols []string) (token string, rest []string, ok bool) {
	for _, p := range protocols {
		if enc, found := strings.CutPrefix(p, AuthTokenPrefix); found && !ok {
			if t, err := decodeBase64(enc); err == nil {
				token, ok = t, true
				continue
			}
		}
		rest = append(rest, p)
	}
	return token, rest, ok
}

func decodeBase64(s string) (string, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return string(b), nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	return string(b), err
}

// subprotocols splits the Sec-WebSocket-Protocol header values.
func subprotocols(r *http.Request) []string {
	var out []string
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(h, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
