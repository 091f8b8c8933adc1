package hostile

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/longpoll"
	"github.com/seance-go/seance/phx"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitTimeout bounds every wait for a server answer.
const waitTimeout = 10 * time.Second

// Limits of the catalogue server, kept small so the cases stay cheap.
const (
	maxFrameSize = 64 << 10 // handler.Options.MaxFrameSize
	maxBodyBytes = 64 << 10 // longpoll.Options.MaxBodyBytes
	maxChannels  = 100      // phx.Config.MaxChannels (the default)
	// The defaults of the limits below are exercised as they are.
	maxTopicBytes    = 1 << 10 // phx.Config.MaxTopicBytes
	maxEventBytes    = 255     // phx.Config.MaxEventBytes
	maxQueryBytes    = 8 << 10 // handler.ParamLimits.MaxQueryBytes
	maxParams        = 100     // handler.ParamLimits.MaxParams
	maxDepth         = 8       // handler.ParamLimits.MaxDepth
	maxSessionsPerIP = 3       // longpoll.Options.MaxSessionsPerIP of /capped/socket
)

// server is the system under attack: a livestate registry with a plain
// channel on room:* mounted at /socket (both transports), and the same
// registry with a very short long-poll idle timeout at /short/socket (for
// expired tokens).
type server struct {
	reg, short, capped *livestate.Registry
	srv                *httptest.Server
	logs               *bytes.Buffer
}

func newServer(t *testing.T) *server {
	t.Helper()
	s := &server{logs: &bytes.Buffer{}}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	s.reg = livestate.NewRegistry(livestate.Config{
		Engine:   phx.Config{Logger: logger, MaxChannels: maxChannels},
		Socket:   handler.Options{Logger: logger, MaxFrameSize: maxFrameSize},
		LongPoll: longpoll.Options{MaxBodyBytes: maxBodyBytes, Secret: []byte(strings.Repeat("k", 32))},
	})
	s.reg.Handle("room:*", room{})
	s.short = livestate.NewRegistry(livestate.Config{
		Engine:   phx.Config{Logger: logger},
		Socket:   handler.Options{Logger: logger},
		LongPoll: longpoll.Options{IdleTimeout: 100 * time.Millisecond, Secret: []byte(strings.Repeat("s", 32))},
	})
	s.short.Handle("room:*", room{})
	s.capped = livestate.NewRegistry(livestate.Config{
		Engine:   phx.Config{Logger: logger},
		Socket:   handler.Options{Logger: logger},
		LongPoll: longpoll.Options{MaxSessionsPerIP: maxSessionsPerIP},
	})
	s.capped.Handle("room:*", room{})
	mux := http.NewServeMux()
	mux.Handle("/socket/", livestate.Handler(s.reg))
	mux.Handle("/short/socket/", livestate.Handler(s.short))
	mux.Handle("/capped/socket/", livestate.Handler(s.capped))
	s.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		s.srv.CloseClientConnections()
		s.srv.Close()
		if err := s.reg.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := s.short.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := s.capped.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return s
}

// wsURL is the WebSocket URL of the main mount with extra query parameters.
func (s *server) wsURL(query string) string {
	u := "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/socket/websocket?vsn=2.0.0"
	if query != "" {
		u += "&" + query
	}
	return u
}

// lpURL is the long-poll URL of a mount ("/socket" or "/short/socket").
func (s *server) lpURL(mount, query string) string {
	u := s.srv.URL + mount + "/longpoll?vsn=2.0.0"
	if query != "" {
		u += "&" + query
	}
	return u
}

// room is a plain Phoenix channel: echo replies with the payload, shout
// broadcasts it to the topic.
type room struct{}

func (room) Join(context.Context, *phx.Channel, phx.Payload) (any, error) { return nil, nil }

func (room) HandleIn(_ context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
	switch msg.Event {
	case "echo":
		return phx.Ok(msg.Payload), nil
	case "shout":
		return phx.Ok(nil), ch.Broadcast("shout", msg.Payload)
	}
	return phx.Err(map[string]string{"reason": "unknown event"}), nil
}

// --- WebSocket client ---

// wsConn is a raw WebSocket client; it can also write hand-made frames.
type wsConn struct {
	t *testing.T
	*websocket.Conn
}

// dial opens a WebSocket to url; it fails the test when the upgrade fails.
func dial(t *testing.T, url string) *wsConn {
	t.Helper()
	c, status, err := tryDial(url)
	if err != nil {
		t.Fatalf("dial: %v (HTTP %d)", err, status)
	}
	t.Cleanup(func() { c.Close() })
	return &wsConn{t: t, Conn: c}
}

// tryDial opens a WebSocket and returns the HTTP status of a refusal.
func tryDial(url string) (*websocket.Conn, int, error) {
	d := websocket.Dialer{HandshakeTimeout: waitTimeout}
	c, resp, err := d.Dial(url, nil)
	status := 0
	if resp != nil {
		status = resp.StatusCode
		if resp.Body != nil {
			resp.Body.Close()
		}
	}
	return c, status, err
}

// send writes one text frame (gorilla does not check what it sends, so
// invalid UTF-8 goes out as is).
func (c *wsConn) send(frame string) {
	c.t.Helper()
	c.SetWriteDeadline(time.Now().Add(waitTimeout))
	if err := c.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// sendBinary writes one binary frame.
func (c *wsConn) sendBinary(frame []byte) {
	c.t.Helper()
	c.SetWriteDeadline(time.Now().Add(waitTimeout))
	if err := c.WriteMessage(websocket.BinaryMessage, frame); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// rawFrame writes one WebSocket frame built by hand (fin, opcode, payload),
// masked unless unmasked is set. A write error (the server may close while
// a hostile peer is still sending) is returned, not fatal: the caller then
// checks how the server closed.
func (c *wsConn) rawFrame(fin bool, opcode byte, payload []byte, unmasked bool) error {
	c.t.Helper()
	var b bytes.Buffer
	first := opcode
	if fin {
		first |= 0x80
	}
	b.WriteByte(first)
	maskBit := byte(0x80)
	if unmasked {
		maskBit = 0
	}
	switch n := len(payload); {
	case n < 126:
		b.WriteByte(maskBit | byte(n))
	case n <= 0xffff:
		b.WriteByte(maskBit | 126)
		binary.Write(&b, binary.BigEndian, uint16(n))
	default:
		b.WriteByte(maskBit | 127)
		binary.Write(&b, binary.BigEndian, uint64(n))
	}
	data := payload
	if !unmasked {
		key := [4]byte{0x12, 0x34, 0x56, 0x78}
		b.Write(key[:])
		data = make([]byte, len(payload))
		for i := range payload {
			data[i] = payload[i] ^ key[i%4]
		}
	}
	b.Write(data)
	nc := c.NetConn()
	nc.SetWriteDeadline(time.Now().Add(waitTimeout))
	_, err := nc.Write(b.Bytes())
	return err
}

// frame is a decoded v2 frame.
type frame struct {
	JoinRef, Ref  *string
	Topic, Event  string
	Payload       json.RawMessage
	ReplyStatus   string
	ReplyResponse json.RawMessage
	raw           []byte
}

func decodeFrame(data []byte) (frame, error) {
	var parts []json.RawMessage
	if err := json.Unmarshal(data, &parts); err != nil || len(parts) != 5 {
		return frame{}, fmt.Errorf("not a v2 frame: %q", data)
	}
	f := frame{raw: data}
	json.Unmarshal(parts[0], &f.JoinRef)
	json.Unmarshal(parts[1], &f.Ref)
	json.Unmarshal(parts[2], &f.Topic)
	json.Unmarshal(parts[3], &f.Event)
	f.Payload = parts[4]
	if f.Event == "phx_reply" {
		var r struct {
			Status   string          `json:"status"`
			Response json.RawMessage `json:"response"`
		}
		json.Unmarshal(parts[4], &r)
		f.ReplyStatus, f.ReplyResponse = r.Status, r.Response
	}
	return f, nil
}

// next reads the next frame; it fails the test on a read error.
func (c *wsConn) next() frame {
	c.t.Helper()
	c.SetReadDeadline(time.Now().Add(waitTimeout))
	_, data, err := c.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	f, err := decodeFrame(data)
	if err != nil {
		c.t.Fatal(err)
	}
	return f
}

// reply reads frames until the reply to ref and returns it.
func (c *wsConn) reply(ref string) frame {
	c.t.Helper()
	for {
		f := c.next()
		if f.Event == "phx_reply" && f.Ref != nil && *f.Ref == ref {
			return f
		}
	}
}

// closed reads until the server closes the connection and returns the close
// code (websocket.CloseAbnormalClosure, 1006, when no close frame came).
func (c *wsConn) closed() int {
	c.t.Helper()
	c.SetReadDeadline(time.Now().Add(waitTimeout))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			c.t.Fatalf("the server did not close the connection within %v", waitTimeout)
		}
		return websocket.CloseAbnormalClosure
	}
}

// join joins topic with ref and join_ref "j"+ref and returns the reply.
func (c *wsConn) join(topic, ref string) frame {
	c.t.Helper()
	c.send(fmt.Sprintf(`["%s","%s",%q,"phx_join",{}]`, ref, ref, topic))
	return c.reply(ref)
}

// --- long-poll client ---

// lpClient speaks phoenix.js's long-poll protocol with one session.
type lpClient struct {
	t     *testing.T
	http  *http.Client
	base  string // mount URL up to and including "/longpoll?vsn=2.0.0"
	token string
	held  []frame // frames polled but not yet asked for
}

type lpReply struct {
	Status   int      `json:"status"`
	Token    string   `json:"token"`
	Messages []string `json:"messages"`
}

func newLP(t *testing.T, s *server, mount string) *lpClient {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &lpClient{t: t, http: &http.Client{Transport: tr, Timeout: waitTimeout + 15*time.Second}, base: s.lpURL(mount, "")}
}

// do sends a request and decodes the JSON body; it returns the HTTP status
// and the body's status.
func (l *lpClient) do(method, url, contentType string, body []byte) (int, lpReply) {
	l.t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		l.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := l.http.Do(req)
	if err != nil {
		l.t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var r lpReply
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(data, &r); err != nil {
			l.t.Fatalf("%s body %q: %v", method, data, err)
		}
	}
	return resp.StatusCode, r
}

// withToken adds the session token to the base URL.
func (l *lpClient) withToken(token string) string {
	return l.base + "&token=" + url.QueryEscape(token)
}

// open makes a session (phoenix.js's first GET answers 410 with a token).
func (l *lpClient) open() {
	l.t.Helper()
	code, r := l.do(http.MethodGet, l.base, "", nil)
	if code != http.StatusOK || r.Status != 410 || r.Token == "" {
		l.t.Fatalf("open: HTTP %d %+v, want 200 {status:410, token}", code, r)
	}
	l.token = r.Token
}

// post sends an ndjson batch and returns the body status.
func (l *lpClient) post(lines ...string) int {
	l.t.Helper()
	code, r := l.do(http.MethodPost, l.withToken(l.token), "application/x-ndjson", []byte(strings.Join(lines, "\n")))
	if code != http.StatusOK {
		l.t.Fatalf("POST: HTTP %d", code)
	}
	return r.Status
}

// poll GETs the queued frames.
func (l *lpClient) poll() lpReply {
	l.t.Helper()
	code, r := l.do(http.MethodGet, l.withToken(l.token), "", nil)
	if code != http.StatusOK {
		l.t.Fatalf("GET: HTTP %d", code)
	}
	return r
}

// reply polls until the reply to ref arrives.
func (l *lpClient) reply(ref string) frame {
	l.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		for i, f := range l.held {
			if f.Event == "phx_reply" && f.Ref != nil && *f.Ref == ref {
				l.held = append(l.held[:i], l.held[i+1:]...)
				return f
			}
		}
		r := l.poll()
		if r.Status != 200 && r.Status != 204 {
			l.t.Fatalf("poll: status %d", r.Status)
		}
		for _, m := range r.Messages {
			f, err := decodeFrame([]byte(m))
			if err != nil {
				l.t.Fatal(err)
			}
			l.held = append(l.held, f)
		}
	}
	l.t.Fatalf("no reply to ref %s", ref)
	return frame{}
}

// --- the sentinel and the baselines ---

// sentinel proves the server still serves: a fresh WebSocket and a fresh
// long-poll session each join, push and get their echo.
func sentinel(t *testing.T, s *server) {
	t.Helper()
	ws := dial(t, s.wsURL(""))
	if r := ws.join("room:sentinel", "1"); r.ReplyStatus != "ok" {
		t.Fatalf("sentinel WebSocket join: %s", r.raw)
	}
	ws.send(`["1","2","room:sentinel","echo",{"alive":true}]`)
	if r := ws.reply("2"); r.ReplyStatus != "ok" || string(r.ReplyResponse) != `{"alive":true}` {
		t.Fatalf("sentinel WebSocket echo: %s", r.raw)
	}
	ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	ws.Close()

	lp := newLP(t, s, "/socket")
	lp.open()
	if st := lp.post(`["1","1","room:sentinel","phx_join",{}]`, `["1","2","room:sentinel","echo",{"alive":true}]`); st != 200 {
		t.Fatalf("sentinel long-poll POST: status %d", st)
	}
	if r := lp.reply("1"); r.ReplyStatus != "ok" {
		t.Fatalf("sentinel long-poll join: %s", r.raw)
	}
	if r := lp.reply("2"); r.ReplyStatus != "ok" || string(r.ReplyResponse) != `{"alive":true}` {
		t.Fatalf("sentinel long-poll echo: %s", r.raw)
	}
	lp.post(`["1","3","room:sentinel","phx_leave",{}]`)
}

// resources counts this process's goroutines and open file descriptors.
func resources() (goroutines, fds int) {
	entries, _ := os.ReadDir("/proc/self/fd")
	return runtime.NumGoroutine(), len(entries)
}

// waitBaseline waits until goroutines and fds are back at (or below) the
// baseline plus slack, or fails with what is left.
func waitBaseline(t *testing.T, g0, fd0 int) {
	t.Helper()
	const slack = 2
	deadline := time.Now().Add(30 * time.Second)
	for {
		g, fd := resources()
		if g <= g0+slack && fd <= fd0+slack {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("not back at baseline: %d goroutines (baseline %d), %d fds (baseline %d)\n%s", g, g0, fd, fd0, buf[:n])
		}
		time.Sleep(50 * time.Millisecond)
	}
}
