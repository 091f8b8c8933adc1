package client

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Transport selects how a Socket talks to the server.
type Transport int

const (
	// WebSocket connects to <endpoint>/websocket. It is the default.
	WebSocket Transport = iota
	// LongPoll connects to <endpoint>/longpoll with held GETs and ndjson
	// POSTs, like phoenix.js's LongPoll transport. It sends no heartbeats.
	LongPoll
)

// String returns "websocket" or "longpoll".
func (t Transport) String() string {
	if t == LongPoll {
		return "longpoll"
	}
	return "websocket"
}

// Options configures a Socket. The zero value (or a nil *Options) is ready
// to use and gives phoenix.js defaults. The Socket keeps its own copy.
type Options struct {
	// Transport is WebSocket (the default) or LongPoll.
	Transport Transport

	// Params are the connect params sent in the query string; nested maps
	// and slices become bracket keys like phoenix.js (user[name]=x).
	Params map[string]any
	// ParamsFunc, if set, replaces Params and is called before every
	// connection attempt, so reconnects can carry fresh values.
	ParamsFunc func() map[string]any

	// ClientID is sent as the client_id connect param with every
	// connection attempt (unless the params carry one), so that a server
	// keeping LiveState channels for resuming (livestate.Options
	// ResumeGrace) continues this socket's channels after a reconnect
	// instead of starting them again. Default: a random id made by
	// NewSocket, the same for the Socket's lifetime; "-" sends none.
	ClientID string

	// AuthToken is sent outside the URL (Phoenix 1.8): as the WebSocket
	// subprotocol "base64url.bearer.phx.<token>" next to "phoenix", or as
	// the X-Phoenix-AuthToken header over long-poll.
	AuthToken string
	// AuthTokenFunc, if set, replaces AuthToken and is called before every
	// connection attempt.
	AuthTokenFunc func() string

	// Header holds extra HTTP headers for the WebSocket handshake and for
	// every long-poll request.
	Header http.Header

	// Vsn is the protocol version sent as the vsn query parameter. The
	// default is "2.0.0" (JSON arrays and binary frames); a value starting
	// with "1." selects the legacy JSON object format without binary.
	Vsn string

	// Timeout bounds the wait for the reply to a join, push or leave.
	// Default 10s.
	Timeout time.Duration
	// HeartbeatInterval is the time between heartbeats on a WebSocket; a
	// heartbeat still unanswered when the next is due drops the connection.
	// Default 30s; negative disables heartbeats.
	HeartbeatInterval time.Duration
	// ConnectTimeout bounds one connection attempt. Default 10s.
	ConnectTimeout time.Duration
	// LongPollTimeout bounds one long-poll request, including the time the
	// server holds a GET. Default 20s.
	LongPollTimeout time.Duration

	// ReconnectAfter returns the delay before reconnect attempt tries
	// (1, 2, …). Default DefaultReconnectAfter.
	ReconnectAfter func(tries int) time.Duration
	// RejoinAfter returns the delay before a channel's rejoin attempt tries
	// after a join error, join timeout or phx_error. Default
	// DefaultRejoinAfter.
	RejoinAfter func(tries int) time.Duration

	// Handler receives the socket's events and decides reconnects and
	// rejoins (the behaviour style). Nil means the phoenix.js defaults of
	// BaseHandler.
	Handler Handler

	// HTTPClient makes the long-poll requests. By default the Socket uses
	// its own client and closes its idle connections on Close.
	HTTPClient *http.Client
	// TLSConfig is used by the WebSocket dialer and the default long-poll
	// client.
	TLSConfig *tls.Config

	// Logger receives debug and warning logs. Default: discard.
	Logger *slog.Logger
}

// withDefaults returns a copy of o with zero fields filled in.
func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Vsn == "" {
		c.Vsn = "2.0.0"
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = 30 * time.Second
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.LongPollTimeout <= 0 {
		c.LongPollTimeout = 20 * time.Second
	}
	if c.ReconnectAfter == nil {
		c.ReconnectAfter = DefaultReconnectAfter
	}
	if c.RejoinAfter == nil {
		c.RejoinAfter = DefaultRejoinAfter
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ClientID == "" {
		c.ClientID = newClientID()
	}
	if c.Header != nil {
		c.Header = c.Header.Clone()
	}
	return c
}

func (o *Options) codec() codec {
	if strings.HasPrefix(o.Vsn, "1.") {
		return codecV1
	}
	return codecV2
}

func (o *Options) params() map[string]any {
	p := o.Params
	if o.ParamsFunc != nil {
		p = o.ParamsFunc()
	}
	if o.ClientID == "-" {
		return p
	}
	if _, ok := p[clientIDParam]; ok {
		return p
	}
	c := make(map[string]any, len(p)+1)
	for k, v := range p {
		c[k] = v
	}
	c[clientIDParam] = o.ClientID
	return c
}

// clientIDParam is the connect param carrying Options.ClientID (the
// server's livestate.ClientIDParam).
const clientIDParam = "client_id"

// newClientID returns a random id of 22 URL-safe characters.
func newClientID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (o *Options) authToken() string {
	if o.AuthTokenFunc != nil {
		return o.AuthTokenFunc()
	}
	return o.AuthToken
}

var reconnectSteps = [...]time.Duration{10, 50, 100, 150, 200, 250, 500, 1000, 2000}

// DefaultReconnectAfter is phoenix.js's reconnect schedule: 10, 50, 100,
// 150, 200, 250, 500, 1000, 2000 ms, then 5 s for every later try.
func DefaultReconnectAfter(tries int) time.Duration {
	if tries < 1 {
		tries = 1
	}
	if tries <= len(reconnectSteps) {
		return reconnectSteps[tries-1] * time.Millisecond
	}
	return 5 * time.Second
}

var rejoinSteps = [...]time.Duration{1, 2, 5}

// DefaultRejoinAfter is phoenix.js's rejoin schedule: 1 s, 2 s, 5 s, then
// 10 s for every later try.
func DefaultRejoinAfter(tries int) time.Duration {
	if tries < 1 {
		tries = 1
	}
	if tries <= len(rejoinSteps) {
		return rejoinSteps[tries-1] * time.Second
	}
	return 10 * time.Second
}
