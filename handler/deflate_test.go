package handler_test

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

// rawClient is a WebSocket client that sees the frames as they are on the
// wire (RSV1 included), for the permessage-deflate tests.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
	resp *http.Response
}

// rawDial opens a WebSocket on path offering the extensions (none when
// empty).
func rawDial(t *testing.T, addr, path, extensions string) *rawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	if extensions != "" {
		req += "Sec-WebSocket-Extensions: " + extensions + "\r\n"
	}
	conn.SetDeadline(time.Now().Add(waitTimeout))
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %s", resp.Status)
	}
	return &rawClient{t: t, conn: conn, br: br, resp: resp}
}

// send writes one masked frame; rsv1 marks a compressed message.
func (c *rawClient) send(op byte, rsv1 bool, payload []byte) {
	c.t.Helper()
	b0 := 0x80 | op
	if rsv1 {
		b0 |= 0x40
	}
	c.conn.SetWriteDeadline(time.Now().Add(waitTimeout))
	if _, err := c.conn.Write(handler.MaskedFrame(b0, [4]byte{1, 2, 3, 4}, payload)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawClient) sendText(s string) { c.t.Helper(); c.send(0x1, false, []byte(s)) }

// rawFrame is a frame as the server sent it.
type rawFrame struct {
	op      byte
	rsv1    bool
	payload []byte
}

// message returns the frame's message, inflated when compressed.
func (f rawFrame) message(t *testing.T) []byte {
	t.Helper()
	if !f.rsv1 {
		return f.payload
	}
	out, err := inflate(f.payload)
	if err != nil {
		t.Fatalf("inflate: %v", err)
	}
	return out
}

// inflate undoes RFC 7692 §7.2.1.
func inflate(p []byte) ([]byte, error) {
	r := flate.NewReader(io.MultiReader(bytes.NewReader(p), strings.NewReader("\x00\x00\xff\xff\x01\x00\x00\xff\xff")))
	defer r.Close()
	return io.ReadAll(r)
}

// deflate compresses a client message as RFC 7692 §7.2.1 says.
func deflate(t *testing.T, p []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(p)
	w.Flush()
	return bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})
}

func (c *rawClient) next() rawFrame {
	c.t.Helper()
	f, err := c.tryNext()
	if err != nil {
		c.t.Fatalf("read frame: %v", err)
	}
	return f
}

// tryNext is next, returning the error of a read.
func (c *rawClient) tryNext() (rawFrame, error) {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return rawFrame{}, err
	}
	if h[0]&0x80 == 0 || h[0]&0x30 != 0 || h[1]&0x80 != 0 {
		c.t.Fatalf("frame header %x: want FIN, no RSV2/3, unmasked", h)
	}
	n := int64(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		io.ReadFull(c.br, l[:])
		n = int64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		io.ReadFull(c.br, l[:])
		n = int64(binary.BigEndian.Uint64(l[:]))
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.br, p); err != nil {
		return rawFrame{}, err
	}
	return rawFrame{op: h[0] & 0x0f, rsv1: h[0]&0x40 != 0, payload: p}, nil
}

// payloadOf returns the payload (5th element) of a v2 JSON frame.
func payloadOf(t *testing.T, msg []byte) json.RawMessage {
	t.Helper()
	var m []json.RawMessage
	if err := json.Unmarshal(msg, &m); err != nil || len(m) != 5 {
		t.Fatalf("frame %.100q: %v", msg, err)
	}
	return m[4]
}

// TestCompressionNegotiation: permessage-deflate is accepted, without
// context takeover either way, only when enabled and offered in a form the
// server can honour.
func TestCompressionNegotiation(t *testing.T) {
	const accepted = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
	for _, tt := range []struct {
		name  string
		on    bool
		offer string
		want  string
	}{
		{"off", false, "permessage-deflate; client_max_window_bits", ""},
		{"chromium's and ws's offer", true, "permessage-deflate; client_max_window_bits", accepted},
		{"gorilla's offer", true, "permessage-deflate; server_no_context_takeover; client_no_context_takeover", accepted},
		{"firefox's offer", true, "permessage-deflate", accepted},
		{"client window set", true, "permessage-deflate; client_max_window_bits=10", accepted},
		{"no offer", true, "", ""},
		{"other extension", true, "x-webkit-deflate-frame", ""},
		{"small server window", true, "permessage-deflate; server_max_window_bits=10", ""},
		{"fallback offer", true, "permessage-deflate; server_max_window_bits=10, permessage-deflate", accepted},
		{"unknown parameter", true, "permessage-deflate; foo", ""},
		{"repeated parameter", true, "permessage-deflate; client_no_context_takeover; client_no_context_takeover", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ep, _ := testEndpoint(t, phx.Config{})
			srv := serve(t, newHandler(ep, handler.Options{Compression: handler.Compression{Enabled: tt.on}}))
			c := rawDial(t, srv.Listener.Addr().String(), "/socket/websocket?vsn=2.0.0", tt.offer)
			if got := c.resp.Header.Get("Sec-WebSocket-Extensions"); got != tt.want {
				t.Fatalf("extensions %q, want %q", got, tt.want)
			}
			// The connection works either way.
			c.sendText(`["1","1","room:1","phx_join",{}]`)
			if f := c.next(); !bytes.Contains(f.message(t), []byte(`"ok"`)) {
				t.Fatalf("join reply %q", f.message(t))
			}
		})
	}
}

// TestCompressedFrames: over a compressed connection, messages from the
// threshold on go out compressed (RSV1 set) and inflate to the message,
// smaller ones and control frames go out as they are, and a compressed
// client message is inflated.
func TestCompressedFrames(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	srv := serve(t, newHandler(ep, handler.Options{Compression: handler.Compression{Enabled: true, Threshold: 300}}))
	c := rawDial(t, srv.Listener.Addr().String(), "/socket/websocket?vsn=2.0.0", "permessage-deflate; client_max_window_bits")
	c.sendText(`["1","1","room:1","phx_join",{}]`)
	if f := c.next(); f.rsv1 {
		t.Fatalf("join reply of %d bytes compressed", len(f.message(t)))
	}
	for i, size := range []int{10, 250, 300, 5000, 70000} {
		text := strings.Repeat("seance ", size/7+1)[:size]
		c.sendText(fmt.Sprintf(`["1","%d","room:1","echo",{"t":%q}]`, i+2, text))
		f := c.next()
		msg := f.message(t)
		want := fmt.Sprintf(`{"status":"ok","response":{"t":%q}}`, text)
		if got := string(payloadOf(t, msg)); got != want {
			t.Fatalf("size %d: payload %.100q…, want %.100q…", size, got, want)
		}
		if compressed := len(msg) >= 300; f.rsv1 != compressed {
			t.Errorf("message of %d bytes: RSV1 %v, want %v", len(msg), f.rsv1, compressed)
		}
		if f.rsv1 && len(f.payload) >= len(msg) {
			t.Errorf("message of %d bytes sent in %d", len(msg), len(f.payload))
		}
	}

	// A compressed client message.
	in := fmt.Sprintf(`["1","9","room:1","echo",{"t":%q}]`, strings.Repeat("ab", 4000))
	c.send(0x1, true, deflate(t, []byte(in)))
	if got := c.next().message(t); !bytes.Contains(got, []byte(strings.Repeat("ab", 4000))) {
		t.Fatalf("echo of a compressed message: %.100q", got)
	}

	// Control frames are never compressed, however large.
	ping := bytes.Repeat([]byte("p"), 125)
	c.send(0x9, false, ping)
	if f := c.next(); f.op != 0xA || f.rsv1 || !bytes.Equal(f.payload, ping) {
		t.Fatalf("pong: op %x rsv1 %v payload %q", f.op, f.rsv1, f.payload)
	}
	c.send(0x8, false, binary.BigEndian.AppendUint16(nil, 1000))
	for {
		f := c.next()
		if f.op == 0x8 {
			if f.rsv1 {
				t.Fatal("close frame compressed")
			}
			break
		}
	}
}

// TestCompressedBroadcast: a broadcast goes out compressed to the
// connections that negotiated compression, with the same compressed
// payload (built once), and as it is to the others; binary frames too;
// incompressible data goes out as it is.
func TestCompressedBroadcast(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	srv := serve(t, newHandler(ep, handler.Options{Compression: handler.Compression{Enabled: true}}))
	addr := srv.Listener.Addr().String()
	var clients []*rawClient
	for i, offer := range []string{"permessage-deflate", "permessage-deflate; client_max_window_bits", ""} {
		c := rawDial(t, addr, "/socket/websocket?vsn=2.0.0", offer)
		c.sendText(fmt.Sprintf(`["%d","%d","room:b","phx_join",{}]`, i, i))
		c.next()
		clients = append(clients, c)
	}
	big := strings.Repeat(`{"id":1,"name":"row","tags":["a","b"]},`, 3000)
	random := make([]byte, 4000)
	rand.Read(random)
	for _, tt := range []struct {
		payload any
		op      byte
		zip     bool // compressible
	}{
		{map[string]string{"rows": big}, 0x1, true},
		{phx.Binary(bytes.Repeat([]byte{0, 1, 2, 3}, 5000)), 0x2, true},
		{phx.Binary(random), 0x2, false},
	} {
		if n, err := ep.BroadcastLocal("room:b", "change", tt.payload); err != nil || n != 3 {
			t.Fatalf("broadcast: %d, %v", n, err)
		}
		var wire [][]byte
		var msgs [][]byte
		for i, c := range clients {
			f := c.next()
			if f.op != tt.op {
				t.Fatalf("client %d: opcode %x, want %x", i, f.op, tt.op)
			}
			if want := i < 2 && tt.zip; f.rsv1 != want {
				t.Fatalf("client %d: RSV1 %v, want %v", i, f.rsv1, want)
			}
			wire = append(wire, f.payload)
			msgs = append(msgs, f.message(t))
		}
		if !bytes.Equal(msgs[0], msgs[1]) || !bytes.Equal(msgs[0], msgs[2]) {
			t.Fatal("the clients received different messages")
		}
		if !bytes.Equal(wire[0], wire[1]) {
			t.Fatal("the compressed clients received different payloads")
		}
		if tt.zip && len(wire[0])*4 > len(wire[2]) {
			t.Errorf("compressed to %d of %d bytes", len(wire[0]), len(wire[2]))
		}
	}
}

// TestCompressionBomb: a compressed message that inflates past
// MaxFrameSize closes the connection with 1009, however small on the wire.
func TestCompressionBomb(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	srv := serve(t, newHandler(ep, handler.Options{MaxFrameSize: 64 << 10, Compression: handler.Compression{Enabled: true}}))
	c := rawDial(t, srv.Listener.Addr().String(), "/socket/websocket?vsn=2.0.0", "permessage-deflate")
	c.sendText(`["1","1","room:1","phx_join",{}]`)
	c.next()
	// Just under the limit once inflated: read.
	under := fmt.Sprintf(`["1","2","room:1","echo",{"t":%q}]`, strings.Repeat("z", 60<<10))
	c.send(0x1, true, deflate(t, []byte(under)))
	if f := c.next(); f.op != 0x1 || !bytes.Contains(f.message(t), []byte("zzzz")) {
		t.Fatalf("message under the limit: op %x", f.op)
	}
	bomb := deflate(t, make([]byte, 8<<20)) // 8 MiB of zeros in about 8 KiB
	if len(bomb) >= 64<<10 {
		t.Fatalf("bomb of %d bytes does not fit the wire limit", len(bomb))
	}
	c.send(0x1, true, bomb)
	for {
		f := c.next()
		if f.op == 0x8 {
			if code := binary.BigEndian.Uint16(f.payload); code != websocket.CloseMessageTooBig {
				t.Fatalf("close code %d, want 1009", code)
			}
			return
		}
	}
}

// TestCompressionCorrupt: a compressed message that does not inflate
// closes the connection with 1007, as malformed text does.
func TestCompressionCorrupt(t *testing.T) {
	ep, _ := testEndpoint(t, phx.Config{})
	srv := serve(t, newHandler(ep, handler.Options{Compression: handler.Compression{Enabled: true}}))
	c := rawDial(t, srv.Listener.Addr().String(), "/socket/websocket?vsn=2.0.0", "permessage-deflate")
	c.send(0x1, true, []byte{0xff, 0xff, 0xff, 0x00, 0x12, 0x34}) // a reserved block type
	for {
		f := c.next()
		if f.op == 0x8 {
			if code := binary.BigEndian.Uint16(f.payload); code != 1007 {
				t.Fatalf("close %d %q, want 1007", code, f.payload[2:])
			}
			return
		}
	}
}
