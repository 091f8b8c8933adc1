package phxtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Wait bounds every blocking helper (Accept, Next…).
const Wait = 10 * time.Second

// Options tune the fake server.
type Options struct {
	// AutoHeartbeat answers heartbeats itself instead of handing them to
	// the test.
	AutoHeartbeat bool
	// LongPollWindow is how long a GET is held when nothing is queued
	// (then 204). Default 10s.
	LongPollWindow time.Duration
	// OnPoll is called with the status of every long-poll GET answered.
	// It must not block.
	OnPoll func(status int)
	// OnPost is called with the lines of every long-poll POST before they
	// are handed to the test; it may block to keep the POST in flight.
	OnPost func(lines []string)
	// Reject, if it returns a non-zero status, refuses a new connection
	// with it (HTTP status for WebSocket, JSON status for long-poll).
	Reject func(r *http.Request) int
}

// Server is a running fake endpoint mounted at /socket.
type Server struct {
	// URL is the socket endpoint, e.g. "http://127.0.0.1:4242/socket".
	URL string

	tb      testing.TB
	opts    Options
	hs      *httptest.Server
	conns   chan *Conn
	closing chan struct{}
	wg      sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	sessions map[string]*Conn
	live     []*Conn
	tokenN   int
	problems []string
}

// NewServer starts a fake server; it is shut down by tb.Cleanup, which also
// reports protocol violations it saw.
func NewServer(tb testing.TB, opts *Options) *Server {
	tb.Helper()
	s := &Server{
		tb:       tb,
		conns:    make(chan *Conn, 64),
		closing:  make(chan struct{}),
		sessions: make(map[string]*Conn),
	}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.LongPollWindow <= 0 {
		s.opts.LongPollWindow = 10 * time.Second
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/socket/websocket", s.serveWS)
	mux.HandleFunc("/socket/longpoll", s.serveLP)
	s.hs = httptest.NewServer(mux)
	s.URL = s.hs.URL + "/socket"
	tb.Cleanup(s.shutdown)
	return s
}

func (s *Server) shutdown() {
	s.mu.Lock()
	s.closed = true
	live := s.live
	problems := s.problems
	s.mu.Unlock()
	close(s.closing)
	for _, c := range live {
		if c.ws != nil {
			c.ws.Close()
		}
	}
	s.hs.Close()
	s.wg.Wait()
	for _, p := range problems {
		s.tb.Errorf("phxtest: client broke the protocol: %s", p)
	}
}

func (s *Server) problem(format string, args ...any) {
	s.mu.Lock()
	s.problems = append(s.problems, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

// Accept returns the next connection (WebSocket) or session (long-poll)
// the client opened.
func (s *Server) Accept(tb testing.TB) *Conn {
	tb.Helper()
	select {
	case c := <-s.conns:
		return c
	case <-time.After(Wait):
		tb.Fatalf("phxtest: no connection within %v", Wait)
		return nil
	}
}

// Frame is one frame received from the client.
type Frame struct {
	JoinRef string // "" when null
	Ref     string // "" when null
	Topic   string
	Event   string
	Payload json.RawMessage // JSON payload of a text frame
	Binary  []byte          // payload of a binary frame
	IsBin   bool
	Raw     string // the frame as received (a long-poll line for LP)
}

// Conn is one client connection or long-poll session.
type Conn struct {
	// Transport is "websocket" or "longpoll".
	Transport string
	// Header and Query are those of the opening request.
	Header http.Header
	Query  url.Values
	// RawQuery is the opening request's query string as sent.
	RawQuery string

	srv      *Server
	v1       bool
	in       chan Frame
	gone     chan struct{}
	goneOnce sync.Once

	ws  *websocket.Conn
	wmu sync.Mutex

	mu     sync.Mutex
	token  string
	out    []string
	notify chan struct{}
}

func (s *Server) newConn(transport string, r *http.Request) *Conn {
	return &Conn{
		Transport: transport,
		Header:    r.Header.Clone(),
		Query:     r.URL.Query(),
		RawQuery:  r.URL.RawQuery,
		srv:       s,
		v1:        strings.HasPrefix(r.URL.Query().Get("vsn"), "1."),
		in:        make(chan Frame, 4096),
		gone:      make(chan struct{}),
		notify:    make(chan struct{}, 1),
	}
}

// register records c and hands it to Accept; false if the server is closing.
func (s *Server) register(c *Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.live = append(s.live, c)
	s.conns <- c
	return true
}

func (c *Conn) markGone() { c.goneOnce.Do(func() { close(c.gone) }) }

// Gone is closed when the client's WebSocket went away, or when a long-poll
// session was dropped.
func (c *Conn) Gone() <-chan struct{} { return c.gone }

// Next returns the next frame the client sent on this connection.
func (c *Conn) Next(tb testing.TB) Frame {
	tb.Helper()
	select {
	case f := <-c.in:
		return f
	case <-time.After(Wait):
		tb.Fatalf("phxtest: no frame from the client within %v", Wait)
		return Frame{}
	}
}

// Expect returns the next frame and fails the test unless its event is
// event.
func (c *Conn) Expect(tb testing.TB, event string) Frame {
	tb.Helper()
	f := c.Next(tb)
	if f.Event != event {
		tb.Fatalf("phxtest: got event %q (%s), want %q", f.Event, f.Raw, event)
	}
	return f
}

// Reply answers f with phx_reply {status, response}, echoing its refs.
func (c *Conn) Reply(f Frame, status string, response any) {
	c.SendFrame(f.JoinRef, f.Ref, f.Topic, "phx_reply", map[string]any{"status": status, "response": orEmpty(response)})
}

// Push sends a channel push [joinRef, null, topic, event, payload].
func (c *Conn) Push(joinRef, topic, event string, payload any) {
	c.SendFrame(joinRef, "", topic, event, orEmpty(payload))
}

// Broadcast sends [null, null, topic, event, payload].
func (c *Conn) Broadcast(topic, event string, payload any) {
	c.SendFrame("", "", topic, event, orEmpty(payload))
}

// CloseChannel sends phx_close for the join [J, J, topic, "phx_close", {}].
func (c *Conn) CloseChannel(joinRef, topic string) {
	c.SendFrame(joinRef, joinRef, topic, "phx_close", map[string]any{})
}

// CrashChannel sends phx_error {"reason":"channel_crash"} for the join.
func (c *Conn) CrashChannel(joinRef, topic string) {
	c.SendFrame(joinRef, joinRef, topic, "phx_error", map[string]any{"reason": "channel_crash"})
}

func orEmpty(v any) any {
	if v == nil {
		return map[string]any{}
	}
	return v
}

// SendFrame sends a text frame in the connection's format; "" refs are
// null.
func (c *Conn) SendFrame(joinRef, ref, topic, event string, payload any) {
	p, err := json.Marshal(payload)
	if err != nil {
		panic(err)
	}
	var text []byte
	if c.v1 {
		text, _ = json.Marshal(map[string]any{"topic": topic, "event": event, "payload": json.RawMessage(p), "ref": nullable(ref)})
	} else {
		text, _ = json.Marshal([]any{nullable(joinRef), nullable(ref), topic, event, json.RawMessage(p)})
	}
	c.SendText(string(text))
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// SendText sends a raw text frame (WebSocket) or queues a message string
// for the next GET (long-poll).
func (c *Conn) SendText(text string) {
	if c.ws != nil {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		_ = c.ws.WriteMessage(websocket.TextMessage, []byte(text))
		return
	}
	c.mu.Lock()
	c.out = append(c.out, text)
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// SendBinary sends a raw binary frame (WebSocket only).
func (c *Conn) SendBinary(b []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.WriteMessage(websocket.BinaryMessage, b)
}

// BinaryPush sends a server push, kind 0: [0][jr][topic][event] + fields.
func (c *Conn) BinaryPush(joinRef, topic, event string, payload []byte) {
	c.SendBinary(binaryFrame(0, payload, joinRef, topic, event))
}

// BinaryReply answers f with a binary reply, kind 1.
func (c *Conn) BinaryReply(f Frame, status string, payload []byte) {
	c.SendBinary(binaryFrame(1, payload, f.JoinRef, f.Ref, f.Topic, status))
}

// BinaryBroadcast sends a broadcast, kind 2: [2][topic][event].
func (c *Conn) BinaryBroadcast(topic, event string, payload []byte) {
	c.SendBinary(binaryFrame(2, payload, topic, event))
}

func binaryFrame(kind byte, payload []byte, fields ...string) []byte {
	b := []byte{kind}
	for _, f := range fields {
		b = append(b, byte(len(f)))
	}
	for _, f := range fields {
		b = append(b, f...)
	}
	return append(b, payload...)
}

// Drop kills the connection without a close frame (WebSocket), or forgets
// the long-poll session so its next request gets 410.
func (c *Conn) Drop() {
	if c.ws != nil {
		_ = c.ws.UnderlyingConn().Close()
		return
	}
	c.srv.mu.Lock()
	delete(c.srv.sessions, c.token)
	c.srv.mu.Unlock()
	c.markGone()
}

// CloseWith closes a WebSocket with a close frame carrying code.
func (c *Conn) CloseWith(code int, text string) {
	c.wmu.Lock()
	_ = c.ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(code, text))
	c.wmu.Unlock()
	_ = c.ws.Close()
}

// ---- WebSocket ----

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	// Add before the upgrade, while httptest still counts the request as
	// outstanding, so shutdown's Wait cannot miss this goroutine.
	s.wg.Add(1)
	defer s.wg.Done()
	if s.opts.Reject != nil {
		if code := s.opts.Reject(r); code != 0 {
			http.Error(w, "refused", code)
			return
		}
	}
	up := websocket.Upgrader{
		Subprotocols: []string{"phoenix"},
		CheckOrigin:  func(*http.Request) bool { return true },
	}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := s.newConn("websocket", r)
	c.ws = ws
	defer c.markGone()
	defer ws.Close()
	if !s.register(c) {
		return
	}
	for {
		mt, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		f, err := c.parse(data, mt == websocket.BinaryMessage)
		if err != nil {
			s.problem("%v", err)
			continue
		}
		if !c.deliver(f) {
			return
		}
	}
}

func (c *Conn) deliver(f Frame) bool {
	if c.srv.opts.AutoHeartbeat && f.Topic == "phoenix" && f.Event == "heartbeat" {
		c.Reply(f, "ok", nil)
		return true
	}
	select {
	case c.in <- f:
		return true
	case <-c.srv.closing:
		return false
	}
}

// parse decodes a client frame: v2 array, v1 object, or binary kind 0 with
// the 5-byte client header.
func (c *Conn) parse(data []byte, binary bool) (Frame, error) {
	f := Frame{Raw: string(data)}
	if binary {
		if len(data) < 5 || data[0] != 0 {
			return f, fmt.Errorf("bad binary client frame % x", data)
		}
		off := 5
		var fields [4]string
		for i := range fields {
			n := int(data[1+i])
			if len(data) < off+n {
				return f, fmt.Errorf("truncated binary client frame % x", data)
			}
			fields[i] = string(data[off : off+n])
			off += n
		}
		f.JoinRef, f.Ref, f.Topic, f.Event = fields[0], fields[1], fields[2], fields[3]
		f.Binary = append([]byte{}, data[off:]...)
		f.IsBin = true
		return f, nil
	}
	if c.v1 {
		var obj struct {
			Topic   string          `json:"topic"`
			Event   string          `json:"event"`
			Payload json.RawMessage `json:"payload"`
			Ref     *string         `json:"ref"`
			JoinRef *string         `json:"join_ref"`
		}
		if err := json.Unmarshal(data, &obj); err != nil {
			return f, fmt.Errorf("bad v1 frame %q: %v", data, err)
		}
		f.Topic, f.Event, f.Payload = obj.Topic, obj.Event, obj.Payload
		if obj.Ref != nil {
			f.Ref = *obj.Ref
		}
		if obj.JoinRef != nil {
			f.JoinRef = *obj.JoinRef
		}
		return f, nil
	}
	var arr []json.RawMessage
	if err := json.Unmarshal(data, &arr); err != nil || len(arr) != 5 {
		return f, fmt.Errorf("frame %q is not a 5-element array", data)
	}
	var refs [2]*string
	for i := range refs {
		if err := json.Unmarshal(arr[i], &refs[i]); err != nil {
			return f, fmt.Errorf("frame %q: ref %d is not a string or null", data, i)
		}
		if refs[i] != nil {
			if _, err := strconv.ParseUint(*refs[i], 10, 64); err != nil {
				return f, fmt.Errorf("frame %q: ref %q is not decimal", data, *refs[i])
			}
		}
	}
	if refs[0] != nil {
		f.JoinRef = *refs[0]
	}
	if refs[1] != nil {
		f.Ref = *refs[1]
	} else {
		return f, fmt.Errorf("frame %q has a null ref", data)
	}
	if json.Unmarshal(arr[2], &f.Topic) != nil || json.Unmarshal(arr[3], &f.Event) != nil {
		return f, fmt.Errorf("frame %q: topic/event not strings", data)
	}
	f.Payload = arr[4]
	return f, nil
}

// ---- long-poll ----

type lpBody struct {
	Status   int       `json:"status"`
	Token    string    `json:"token,omitempty"`
	Messages *[]string `json:"messages,omitempty"`
}

func writeLP(w http.ResponseWriter, b lpBody) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(b)
}

func (s *Server) poll(status int) {
	if s.opts.OnPoll != nil {
		s.opts.OnPoll(status)
	}
}

func (s *Server) serveLP(w http.ResponseWriter, r *http.Request) {
	s.wg.Add(1)
	defer s.wg.Done()
	header := r.Header.Get("X-Phoenix-Longpoll-Token")
	var query string
	if qs := r.URL.Query()["token"]; len(qs) > 0 {
		query = qs[len(qs)-1]
	}
	if header != query {
		s.problem("long-poll token header %q differs from last token query value %q", header, query)
	}
	token := header
	empty := []string{}
	switch r.Method {
	case http.MethodGet:
		if token == "" {
			if s.opts.Reject != nil {
				if code := s.opts.Reject(r); code != 0 {
					writeLP(w, lpBody{Status: code})
					return
				}
			}
			c := s.newConn("longpoll", r)
			s.mu.Lock()
			s.tokenN++
			c.token = "sess" + strconv.Itoa(s.tokenN)
			s.sessions[c.token] = c
			s.mu.Unlock()
			if !s.register(c) {
				return
			}
			writeLP(w, lpBody{Status: 410, Token: c.token, Messages: &empty})
			s.poll(410)
			return
		}
		s.mu.Lock()
		c := s.sessions[token]
		s.mu.Unlock()
		if c == nil {
			writeLP(w, lpBody{Status: 410, Token: "expired", Messages: &empty})
			s.poll(410)
			return
		}
		timer := time.NewTimer(s.opts.LongPollWindow)
		defer timer.Stop()
		for {
			c.mu.Lock()
			msgs := c.out
			c.out = nil
			c.mu.Unlock()
			if len(msgs) > 0 {
				writeLP(w, lpBody{Status: 200, Token: c.token, Messages: &msgs})
				s.poll(200)
				return
			}
			select {
			case <-c.notify:
			case <-timer.C:
				writeLP(w, lpBody{Status: 204, Token: c.token, Messages: &empty})
				s.poll(204)
				return
			case <-c.gone:
				writeLP(w, lpBody{Status: 410, Token: "expired", Messages: &empty})
				s.poll(410)
				return
			case <-r.Context().Done():
				return
			case <-s.closing:
				return
			}
		}
	case http.MethodPost:
		s.mu.Lock()
		c := s.sessions[token]
		s.mu.Unlock()
		if c == nil {
			writeLP(w, lpBody{Status: 410})
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
			s.problem("long-poll POST content type %q", ct)
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		lines := strings.Split(string(body), "\n")
		if s.opts.OnPost != nil {
			s.opts.OnPost(lines)
		}
		for _, line := range lines {
			var f Frame
			var err error
			if strings.HasPrefix(line, "[") || strings.HasPrefix(line, "{") {
				f, err = c.parse([]byte(line), false)
			} else {
				var b []byte
				if b, err = base64.StdEncoding.DecodeString(line); err == nil {
					f, err = c.parse(b, true)
					f.Raw = line
				}
			}
			if err != nil {
				s.problem("long-poll line %q: %v", line, err)
				continue
			}
			if !c.deliver(f) {
				return
			}
		}
		writeLP(w, lpBody{Status: 200})
	default:
		w.WriteHeader(http.StatusBadRequest)
	}
}
