package handler

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/phx"
)

// Options configures a socket mount. Zero fields take the defaults.
type Options struct {
	// Connect is the connect hook; nil accepts every connection.
	Connect ConnectFunc
	// CheckOrigin decides whether a browser's Origin may open the socket.
	// nil allows requests without Origin and those whose Origin host equals
	// the request's Host (Phoenix's default check_origin). Refusal: 403.
	CheckOrigin func(r *http.Request) bool
	// IdleTimeout closes a WebSocket (code 1001) when the client sent nothing
	// for that long (default 60s, as Phoenix; phoenix.js heartbeats every 30s).
	IdleTimeout time.Duration
	// MaxFrameSize is the largest inbound frame in bytes (default 1 MiB);
	// larger frames close the connection with 1009.
	MaxFrameSize int64
	// WriteTimeout bounds one write to the client (default 10s); a client
	// that does not read for that long is disconnected.
	WriteTimeout time.Duration
	// ReadBufferSize and WriteBufferSize size gorilla's I/O buffers (0 reuses
	// the HTTP server's 4 KiB buffers).
	ReadBufferSize, WriteBufferSize int
	// LongPoll, when set, serves <mount>/longpoll.
	LongPoll http.Handler
	// Logger receives the transport's logs (default: the endpoint's).
	Logger *slog.Logger
}

const (
	defaultIdleTimeout  = 60 * time.Second
	defaultMaxFrameSize = 1 << 20
	defaultWriteTimeout = 10 * time.Second
)

// Handler serves a socket mount: <mount>/websocket and <mount>/longpoll.
type Handler struct {
	opts      Options
	log       *slog.Logger
	connector Connector
	upgrader  websocket.Upgrader
}

// New returns the http.Handler of a socket mount over the endpoint ep.
func New(ep *phx.Endpoint, opts Options) *Handler {
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = defaultIdleTimeout
	}
	if opts.MaxFrameSize <= 0 {
		opts.MaxFrameSize = defaultMaxFrameSize
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = defaultWriteTimeout
	}
	log := opts.Logger
	if log == nil {
		log = ep.Logger()
	}
	h := &Handler{opts: opts, log: log, connector: Connector{Endpoint: ep, Connect: opts.Connect}}
	h.upgrader = websocket.Upgrader{
		ReadBufferSize:  opts.ReadBufferSize,
		WriteBufferSize: opts.WriteBufferSize,
		Subprotocols:    []string{"phoenix"},
		// The origin is checked before the upgrade, in ServeHTTP.
		CheckOrigin: func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			http.Error(w, reason.Error(), status)
		},
	}
	return h
}

// ServeHTTP routes on the path suffix: …/websocket and …/longpoll.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case strings.HasSuffix(path, "/websocket") || path == "websocket":
		h.serveWebSocket(w, r)
	case (strings.HasSuffix(path, "/longpoll") || path == "longpoll") && h.opts.LongPoll != nil:
		h.opts.LongPoll.ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

// checkOrigin applies Options.CheckOrigin or the same-host default.
func (h *Handler) checkOrigin(r *http.Request) bool {
	if h.opts.CheckOrigin != nil {
		return h.opts.CheckOrigin(r)
	}
	return SameHost(r)
}

// SameHost allows requests without an Origin header and those whose Origin
// host (port ignored, as Phoenix) equals the request's host.
func SameHost(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	oh, ok := originHost(origin)
	if !ok {
		return false
	}
	return strings.EqualFold(oh, hostOnly(r.Host))
}

func (h *Handler) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusBadRequest)
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		http.Error(w, "expected a WebSocket upgrade", http.StatusBadRequest)
		return
	}
	if !h.checkOrigin(r) {
		h.log.Info("handler: origin refused", "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
		w.WriteHeader(http.StatusForbidden)
		return
	}
	protocols := subprotocols(r)
	token, rest, _ := AuthTokenFromProtocols(protocols)
	if len(protocols) > 0 && !contains(rest, "phoenix") {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	sess, status, err := h.connector.Open(r, "websocket", token, true)
	if err != nil {
		h.log.Info("handler: connection refused", "status", status, "error", err, "remote", r.RemoteAddr)
		w.WriteHeader(status)
		return
	}
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		sess.Detach()
		return
	}
	h.run(conn, sess)
}

// run drives one connection: this goroutine reads, a second one writes.
func (h *Handler) run(conn *websocket.Conn, sess *phx.Session) {
	defer sess.Detach()
	// A slow consumer's queue is dropped at once; do not let the writer sit
	// in a blocked write until WriteTimeout either.
	stop := context.AfterFunc(sess.Context(), func() {
		if ce := sess.Err(); ce != nil && ce.Code == phx.ClosePolicyViolation {
			conn.NetConn().SetWriteDeadline(time.Now())
		}
	})
	defer stop()
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		h.writeLoop(conn, sess)
	}()
	reason := h.readLoop(conn, sess)
	sess.Close(reason)
	<-writerDone
}

func (h *Handler) readLoop(conn *websocket.Conn, sess *phx.Session) error {
	conn.SetReadLimit(h.opts.MaxFrameSize)
	for {
		conn.SetReadDeadline(time.Now().Add(h.opts.IdleTimeout))
		kind, data, err := conn.ReadMessage()
		if err != nil {
			var ne interface{ Timeout() bool }
			switch {
			case errors.Is(err, websocket.ErrReadLimit):
				return &phx.CloseError{Code: phx.CloseTooBig, Reason: "frame too large"}
			case errors.As(err, &ne) && ne.Timeout():
				return &phx.CloseError{Code: phx.CloseGoingAway, Reason: "idle timeout"}
			}
			return phx.ErrDisconnected
		}
		if err := sess.Receive(data, kind == websocket.BinaryMessage); err != nil {
			h.log.Info("handler: closing connection", "error", err, "remote", sess.Info().RemoteAddr)
			return err
		}
	}
}

func (h *Handler) writeLoop(conn *websocket.Conn, sess *phx.Session) {
	defer conn.Close()
	for {
		frames, err := sess.Next(context.Background())
		for _, f := range frames {
			kind := websocket.TextMessage
			if f.Binary {
				kind = websocket.BinaryMessage
			}
			conn.SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout))
			if werr := conn.WriteMessage(kind, f.Data); werr != nil {
				sess.Close(phx.ErrDisconnected)
				return
			}
		}
		if err != nil {
			var ce *phx.CloseError
			if errors.As(err, &ce) {
				msg := websocket.FormatCloseMessage(ce.Code, ce.Reason)
				conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			}
			return
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
