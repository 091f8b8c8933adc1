package longpoll

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/seance-go/seance/cluster"
	"github.com/seance-go/seance/cors"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

// Options configures the long-poll transport. Zero fields take the defaults.
type Options struct {
	// Connect is the connect hook, the same one the WebSocket transport runs
	// (handler.Options.Connect); nil accepts every connection. It runs once
	// per session, on the GET that creates it.
	Connect handler.ConnectFunc
	// Origin is the origin policy: requests of refused origins get
	// {"status":403}, allowed cross-origin requests get CORS headers and
	// preflights are answered. nil is the same-host policy (Phoenix's
	// default check_origin).
	Origin *cors.Policy
	// PollTimeout is how long a GET waits for frames before answering
	// {"status":204} (default 10s, Phoenix's window_ms; keep it below the
	// client's longpollerTimeout, 20s).
	PollTimeout time.Duration
	// IdleTimeout reaps a session when no GET was served or held for that
	// long (default 15s). POSTs do not count. Its channels end with
	// phx.ErrDisconnected and its token is then refused with 410.
	IdleTimeout time.Duration
	// MaxBodyBytes caps a POST body (default 8 MiB, as Plug); a larger one
	// is refused with {"status":413} without processing any of its frames.
	MaxBodyBytes int64
	// Secret keys the HMAC of session tokens. Give every node of a
	// deployment the same secret (at least 32 random bytes); tokens of other
	// secrets are refused with 410. nil picks a random secret per Handler.
	Secret []byte
	// MaxSessions caps the sessions this handler holds at once (default
	// 10,000; an idle session costs about 2 KB until IdleTimeout reaps
	// it). MaxSessionsPerIP caps those of one client address, as ClientIP
	// gives it (default 100; IPv6 addresses count by their /64). Past
	// either, a GET that would open a session is answered {"status":500},
	// on which phoenix.js closes the transport and reconnects with its
	// backoff; the connect hook does not run.
	MaxSessions      int
	MaxSessionsPerIP int
	// ClientIP names the client a request comes from, for
	// MaxSessionsPerIP (default [RemoteIP], the TCP peer's address). Behind
	// a reverse proxy every client has the proxy's address: set ClientIP
	// to read the proxy's header ([ForwardedFor] reads X-Forwarded-For
	// behind given proxies), trusting only what your proxies set, or all
	// clients share one cap.
	ClientIP func(r *http.Request) string
	// ParamLimits bounds the query string of every request (its size,
	// parameter count and bracket depth), checked before anything of it is
	// parsed; past them the request is refused with {"status":403} (see
	// [handler.ParamLimits] for the defaults).
	ParamLimits handler.ParamLimits
	// Logger receives the transport's logs (default: the endpoint's).
	Logger *slog.Logger
	// Cluster, when set, serves long-poll on every node of a cluster
	// without sticky sessions: tokens name the node owning the session, and
	// a request arriving at another node is relayed to the owner through
	// PubSub (relay.go). An owner that does not answer within the node's
	// RelayTimeout counts as gone: the GET opens a new session here
	// ({"status":410} and a token), a POST gets {"status":410}; past the
	// node's MaxInFlight a request gets {"status":500}. Every node needs the
	// same Secret. nil: sessions are reachable only on their own node.
	Cluster *cluster.Node
}

const (
	defaultPollTimeout  = 10 * time.Second
	defaultIdleTimeout  = 15 * time.Second
	defaultMaxBodyBytes = 8 << 20
)

// Handler serves a socket's <mount>/longpoll. Create it with [New].
type Handler struct {
	ep        *phx.Endpoint
	opts      Options
	log       *slog.Logger
	connector handler.Connector
	policy    *cors.Policy
	cors      http.Handler
	tokens    tokens

	mu        sync.Mutex
	sessions  map[string]*session
	reserved  int            // sessions opening or registered (limits.go)
	perClient map[string]int // of them, per client key
	closed    bool
	wg        sync.WaitGroup // one per registered session, until its cleanup ran

	// test hooks (nil outside tests)
	onPoll    func() // a GET became the session's poller
	onRelease func() // a session was released
}

// New returns the long-poll transport over the endpoint ep. Set it as
// handler.Options.LongPoll so that the socket mount serves it.
func New(ep *phx.Endpoint, opts Options) *Handler {
	if opts.PollTimeout <= 0 {
		opts.PollTimeout = defaultPollTimeout
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = defaultIdleTimeout
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = defaultMaxBodyBytes
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = defaultMaxSessions
	}
	if opts.MaxSessionsPerIP <= 0 {
		opts.MaxSessionsPerIP = defaultMaxSessionsPerIP
	}
	if opts.ClientIP == nil {
		opts.ClientIP = RemoteIP
	}
	secret := opts.Secret
	if len(secret) == 0 {
		secret = make([]byte, 32)
		rand.Read(secret)
	}
	log := opts.Logger
	if log == nil {
		log = ep.Logger()
	}
	policy := opts.Origin
	if policy == nil {
		policy, _ = cors.NewPolicy(cors.Options{}) // cannot fail
	}
	h := &Handler{
		ep:        ep,
		opts:      opts,
		log:       log,
		connector: handler.Connector{Endpoint: ep, Connect: opts.Connect, Limits: opts.ParamLimits},
		policy:    policy,
		tokens:    tokens{secret: append([]byte(nil), secret...), node: ep.NodeName()},
		sessions:  map[string]*session{},
		perClient: map[string]int{},
	}
	h.cors = policy.Handler(http.HandlerFunc(h.serve))
	if opts.Cluster != nil {
		if len(opts.Secret) == 0 {
			log.Warn("longpoll: Cluster set without a Secret: other nodes cannot verify this node's tokens, every request they get opens a new session")
		}
		opts.Cluster.Handle(relayService, h.serveRelayed)
	}
	return h
}

// ServeHTTP checks the origin (refusal: {"status":403}, any method) and the
// query string (Options.ParamLimits; refusal: {"status":403}), adds
// CORS headers, answers preflights, then serves GET (poll, or create a
// session), POST (send frames) and OPTIONS. Other methods get HTTP 400.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.policy.Allowed(r) {
		h.log.Info("longpoll: origin refused", "transport", "longpoll", "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
		writeJSON(w, statusReply{Status: 403})
		return
	}
	if err := h.connector.CheckQuery(r); err != nil {
		// before the token is looked up, which parses the query
		h.log.Info("longpoll: query refused", "transport", "longpoll", "error", err, "remote", r.RemoteAddr)
		writeJSON(w, statusReply{Status: refusalStatus(http.StatusBadRequest)})
		return
	}
	h.cors.ServeHTTP(w, r)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	if h.relayed(w, r) {
		return
	}
	switch r.Method {
	case http.MethodGet:
		h.get(w, r)
	case http.MethodPost:
		h.post(w, r)
	case http.MethodOptions:
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusBadRequest)
	}
}

// pollReply is the body of every GET answer but a refusal.
type pollReply struct {
	Status   int      `json:"status"`
	Token    string   `json:"token"`
	Messages []string `json:"messages"`
}

// statusReply is the body of POST answers and refusals.
type statusReply struct {
	Status int `json:"status"`
}

// writeJSON answers HTTP 200 with v: phoenix.js reads the status from the
// body, whatever the HTTP status.
func writeJSON(w http.ResponseWriter, v any) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// sessionToken returns the session token a request carries: the
// X-Phoenix-Longpoll-Token header (phoenix.js ≥ 1.9), else the last "token"
// query value (older clients append it after the app's own params).
func sessionToken(r *http.Request) string {
	if t := r.Header.Get("X-Phoenix-Longpoll-Token"); t != "" {
		return t
	}
	vs := r.URL.Query()["token"]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// queryTokenIsOurs reports whether the last "token" query value is a session
// token signed by this handler (live or expired session): that value is the
// transport's, not a connect parameter, whether or not the header carried
// the token too.
func (h *Handler) queryTokenIsOurs(r *http.Request) bool {
	vs := r.URL.Query()["token"]
	if len(vs) == 0 {
		return false
	}
	_, ok := h.tokens.verify(vs[len(vs)-1])
	return ok
}

// lookup returns the live session a request's token names, or nil; strip
// tells whether the query's token is ours (h.queryTokenIsOurs).
func (h *Handler) lookup(r *http.Request) (s *session, strip bool) {
	strip = h.queryTokenIsOurs(r)
	token := sessionToken(r)
	if token == "" {
		return nil, strip
	}
	id, ok := h.tokens.verify(token)
	if !ok {
		return nil, strip
	}
	h.mu.Lock()
	s = h.sessions[id]
	h.mu.Unlock()
	if s != nil && s.sess.Context().Err() != nil {
		s = nil
	}
	return s, strip
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	s, strip := h.lookup(r)
	if s == nil {
		h.open(w, r, strip)
		return
	}
	if h.poll(w, r, s) {
		h.open(w, r, h.queryTokenIsOurs(r))
	}
}

// open runs the connect step and registers a new session, answering 410
// with its token (the only way phoenix.js opens a long-poll connection).
func (h *Handler) open(w http.ResponseWriter, r *http.Request, stripToken bool) {
	if h.isClosed() {
		writeJSON(w, statusReply{Status: 500})
		return
	}
	client := clientKey(h.opts.ClientIP(r))
	if !h.reserve(client) {
		h.log.Info("longpoll: session cap reached", "transport", "longpoll", "client", client, "remote", r.RemoteAddr)
		writeJSON(w, statusReply{Status: 500})
		return
	}
	if stripToken {
		r = withoutLastToken(r)
	}
	sess, status, err := h.connector.Open(r, "longpoll", r.Header.Get("X-Phoenix-AuthToken"), false)
	if err != nil {
		h.unreserve(client)
		h.log.Info("longpoll: connection refused", "transport", "longpoll", "status", status, "error", err, "remote", r.RemoteAddr)
		writeJSON(w, statusReply{Status: refusalStatus(status)})
		return
	}
	s := &session{h: h, id: newID(), client: client, sess: sess, last: time.Now()}
	s.token = h.tokens.sign(s.id)
	h.mu.Lock()
	if h.closed {
		h.unreserveLocked(client)
		h.mu.Unlock()
		sess.Detach()
		writeJSON(w, statusReply{Status: 500})
		return
	}
	h.sessions[s.id] = s
	h.wg.Add(1)
	s.mu.Lock()
	s.timer = time.AfterFunc(h.opts.IdleTimeout, s.reap)
	s.mu.Unlock()
	h.mu.Unlock()
	// Whoever closes the session (reaper, engine, Shutdown, a malformed
	// frame), this releases it.
	context.AfterFunc(sess.Context(), s.cleanup)
	writeJSON(w, pollReply{Status: 410, Token: s.token, Messages: []string{}})
}

// refusalStatus maps the connect step's HTTP status to what phoenix.js
// handles on a GET: 403 for refusals (4xx), 500 otherwise. Any other status
// would stop the client's poll loop.
func refusalStatus(status int) int {
	if status >= 400 && status < 500 {
		return 403
	}
	return 500
}

// withoutLastToken returns a shallow copy of r without the last "token"
// query value.
func withoutLastToken(r *http.Request) *http.Request {
	q := r.URL.Query()
	vs := q["token"]
	if len(vs) <= 1 {
		q.Del("token")
	} else {
		q["token"] = vs[:len(vs)-1]
	}
	r2 := r.WithContext(r.Context())
	u := *r.URL
	u.RawQuery = q.Encode()
	r2.URL = &u
	return r2
}

// poll serves a GET of a live session: the queued frames (200), or 204 when
// none came within PollTimeout. A newer GET of the same session replaces
// this one, which then answers 204. When the session ended while the GET
// waited it writes nothing and reports gone: the caller starts over as for
// an unknown token (phoenix.js ≥ 1.8.2 then reconnects and rejoins).
func (h *Handler) poll(w http.ResponseWriter, r *http.Request, s *session) (gone bool) {
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.PollTimeout)
	defer cancel()
	prev, mine := s.beginPoll(cancel)
	defer s.endPoll(mine)
	if h.onPoll != nil {
		h.onPoll()
	}
	if prev != nil {
		select {
		case <-prev:
		case <-ctx.Done():
		}
	}
	var frames []phx.Frame
	var err error
	if ctx.Err() == nil {
		frames, err = s.sess.Next(ctx)
	} else {
		err = ctx.Err()
	}
	msgs := make([]string, 0, len(frames))
	for _, f := range frames {
		if f.Binary { // the engine refuses binary pushes on this transport
			s.sess.Logger().Warn("longpoll: binary frame dropped")
			continue
		}
		msgs = append(msgs, string(f.Data))
	}
	var ce *phx.CloseError
	switch {
	case len(frames) > 0:
		writeJSON(w, pollReply{Status: 200, Token: s.token, Messages: msgs})
	case errors.As(err, &ce):
		return true
	default:
		writeJSON(w, pollReply{Status: 204, Token: s.token, Messages: []string{}})
	}
	return false
}

// post hands the frames of a POST body to the session, in order, one POST
// of a session at a time.
func (h *Handler) post(w http.ResponseWriter, r *http.Request) {
	s, _ := h.lookup(r)
	if s == nil {
		writeJSON(w, statusReply{Status: 410})
		return
	}
	body, status := h.readBody(w, r)
	if status != 0 {
		writeJSON(w, statusReply{Status: status})
		return
	}
	h.receive(w, r, s, body)
}

// receive hands the frames of a POST body to the session s. body is the
// request's own buffer, never reused: the session may keep references into
// it (phx.Session.Receive).
func (h *Handler) receive(w http.ResponseWriter, r *http.Request, s *session, body []byte) {
	if !utf8.Valid(body) {
		// Every frame of a batch is text (JSON or base64): a body that is
		// not UTF-8 is refused whole, and ends the session as a WebSocket
		// text frame that is not UTF-8 closes it (1007).
		s.sess.Logger().Info("longpoll: body is not valid UTF-8, closing the session")
		s.sess.Close(&phx.CloseError{Code: phx.CloseInvalidData, Reason: "invalid UTF-8"})
		writeJSON(w, statusReply{Status: 400})
		return
	}
	s.recv.Lock()
	defer s.recv.Unlock()
	err := eachFrame(body, isNDJSON(r.Header.Get("Content-Type")), func(data []byte, binary bool) error {
		if s.sess.Context().Err() != nil {
			return errGone
		}
		return s.sess.Receive(data, binary)
	})
	switch {
	case err == nil:
		writeJSON(w, statusReply{Status: 200})
	case errors.Is(err, errGone):
		writeJSON(w, statusReply{Status: 410})
	default:
		// A malformed frame ends the session, as it closes a WebSocket
		// (1007); the client sees 400, reconnects and rejoins.
		s.sess.Logger().Info("longpoll: malformed frame, closing the session", "error", err)
		var ce *phx.CloseError
		if !errors.As(err, &ce) {
			ce = &phx.CloseError{Code: phx.CloseInvalidData, Reason: err.Error()}
		}
		s.sess.Close(ce)
		writeJSON(w, statusReply{Status: 400})
	}
}

var errGone = errors.New("longpoll: session gone")

func (h *Handler) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// Sessions reports how many long-poll sessions are registered.
func (h *Handler) Sessions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

// Shutdown refuses new sessions, closes every session with phx.ErrShutdown
// (held GETs answer at once) and waits until they are released, or ctx
// ends. phx.Endpoint.Shutdown closes the sessions too, in batches
// (phx.Config.DrainBatchSize): call it first, then this.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	all := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		all = append(all, s)
	}
	h.mu.Unlock()
	for _, s := range all {
		s.sess.Close(phx.ErrShutdown)
	}
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close is Shutdown without a deadline.
func (h *Handler) Close() error { return h.Shutdown(context.Background()) }

// compile-time check: the handler plugs into handler.Options.LongPoll.
var _ http.Handler = (*Handler)(nil)
