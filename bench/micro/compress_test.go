package micro

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http/httptest"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seance-go/seance/bench/internal/bigstate"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

// The compression figures (report section 10): bytes on the wire and CPU
// per message with permessage-deflate off and on, and the memory an idle
// connection holds either way.

// zChannel joins with a 2 KB reply (compressed when negotiated), so that an
// idle connection has been through the compressed write and read paths.
type zChannel struct{}

func (zChannel) Join(context.Context, *phx.Channel, phx.Payload) (any, error) {
	return map[string]string{"pad": strings.Repeat("join reply padding ", 100)}, nil
}

func (zChannel) HandleIn(context.Context, *phx.Channel, *phx.Message) (*phx.Reply, error) {
	return phx.Ok(nil), nil
}

// zServer serves zChannel on bench:* with the given compression.
func zServer(tb testing.TB, c handler.Compression) string {
	tb.Helper()
	ep := phx.NewEndpoint(phx.Config{QueueLength: 1 << 14, QueueBytes: 1 << 30})
	ep.Handle("bench:*", zChannel{})
	srv := httptest.NewServer(handler.New(ep, handler.Options{IdleTimeout: 30 * time.Minute, Compression: c}))
	tb.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ep.Shutdown(ctx)
	})
	benchEndpoints[srv.Listener.Addr().String()] = ep
	return srv.Listener.Addr().String()
}

// benchEndpoints finds a test server's endpoint by address (benchmarks run
// one at a time).
var benchEndpoints = map[string]*phx.Endpoint{}

// zDial opens a WebSocket offering permessage-deflate as browsers do, joins
// topic with a join message sent compressed when compression was
// negotiated, and reads the reply. br is reset onto the connection; the
// connection keeps no buffer once the reply is read.
func zDial(addr, topic string, br *bufio.Reader) (net.Conn, bool, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, false, err
	}
	conn.SetDeadline(time.Now().Add(time.Minute))
	req := "GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, false, err
	}
	br.Reset(conn)
	deflate := false
	for first := true; ; first = false {
		line, err := br.ReadString('\n')
		if err != nil {
			conn.Close()
			return nil, false, err
		}
		if first && !strings.HasPrefix(line, "HTTP/1.1 101") {
			conn.Close()
			return nil, false, fmt.Errorf("handshake: %s", line)
		}
		if strings.HasPrefix(strings.ToLower(line), "sec-websocket-extensions: permessage-deflate") {
			deflate = true
		}
		if line == "\r\n" {
			break
		}
	}
	join := []byte(`["1","1","` + topic + `","phx_join",{"pad":"` + strings.Repeat("join padding ", 100) + `"}]`)
	if deflate {
		join = compressedJoin(join)
	}
	if err := writeMasked(conn, join, deflate); err != nil {
		conn.Close()
		return nil, false, err
	}
	if _, _, err := readFrame(br, nil); err != nil {
		conn.Close()
		return nil, false, err
	}
	conn.SetDeadline(time.Time{})
	return conn, deflate, nil
}

// compressedJoin compresses a join message as RFC 7692 says, once per
// distinct message (a flate writer holds about a megabyte).
func compressedJoin(p []byte) []byte {
	if z, ok := joins[string(p)]; ok {
		return z
	}
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	w.Write(p)
	w.Flush()
	z := bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})
	joins[string(p)] = z
	return z
}

// joins caches compressedJoin's results (benchmarks run one at a time).
var joins = map[string][]byte{}

func writeMasked(w io.Writer, p []byte, rsv1 bool) error {
	b0 := byte(0x81)
	if rsv1 {
		b0 |= 0x40
	}
	hdr := []byte{b0}
	switch n := len(p); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n <= 0xffff:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	hdr = append(hdr, 0, 0, 0, 0) // a zero masking key leaves p as it is
	_, err := w.Write(append(hdr, p...))
	return err
}

// readFrame reads one server frame into buf (grown as needed) and returns
// its size on the wire and whether RSV1 (compressed) was set.
func readFrame(br *bufio.Reader, buf []byte) (int, bool, error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, false, err
	}
	n, wire := int(h[1]&0x7f), 2
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return 0, false, err
		}
		n, wire = int(binary.BigEndian.Uint16(l[:])), 4
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return 0, false, err
		}
		n, wire = int(binary.BigEndian.Uint64(l[:])), 10
	}
	if _, err := br.Discard(n); err != nil {
		return 0, false, err
	}
	return wire + n, h[0]&0x40 != 0, nil
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCompressedMessage broadcasts one message per iteration to one
// connection, which reads its frame without inflating it: a 100 KB
// state:change (bigstate's JSON, as row 4, whose items repeat the same
// text; and rows of random identifiers and numbers, which compress far
// less) and a one-operation state:patch,
// with compression off, on (default threshold 512 bytes) and, for the
// patch, on with a threshold of 1 byte. wire-B/msg is the frame's size on
// the wire, cpu-µs/msg the process's CPU time per message (the server's
// encoding, compression and write; the client only skips bytes).
func BenchmarkCompressedMessage(b *testing.B) {
	state, err := json.Marshal(map[string]any{"state": bigstate.New(105_000), "version": 1})
	if err != nil {
		b.Fatal(err)
	}
	varied, err := json.Marshal(map[string]any{"state": variedState(115_000), "version": 1})
	if err != nil {
		b.Fatal(err)
	}
	patch := json.RawMessage(`{"patch":[{"op":"replace","path":"/items/96/detail/counter","value":1234}],"version":1234}`)
	for _, tt := range []struct {
		name    string
		event   string
		payload json.RawMessage
		z       handler.Compression
	}{
		{"state100KB/off", "state:change", state, handler.Compression{}},
		{"state100KB/on", "state:change", state, handler.Compression{Enabled: true}},
		{"varied100KB/off", "state:change", varied, handler.Compression{}},
		{"varied100KB/on", "state:change", varied, handler.Compression{Enabled: true}},
		{"patch/off", "state:patch", patch, handler.Compression{}},
		{"patch/on", "state:patch", patch, handler.Compression{Enabled: true}},
		{"patch/on,threshold=1", "state:patch", patch, handler.Compression{Enabled: true, Threshold: 1}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			addr := zServer(b, tt.z)
			ep := benchEndpoints[addr]
			br := bufio.NewReaderSize(nil, 64<<10)
			conn, deflate, err := zDial(addr, "bench:1", br)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			if deflate != tt.z.Enabled {
				b.Fatalf("compression negotiated: %v", deflate)
			}
			wire, compressed := 0, 0
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				if _, err := ep.BroadcastLocal("bench:1", tt.event, tt.payload); err != nil {
					b.Fatal(err)
				}
				conn.SetReadDeadline(time.Now().Add(time.Minute))
				n, z, err := readFrame(br, nil)
				if err != nil {
					b.Fatal(err)
				}
				wire += n
				if z {
					compressed++
				}
			}
			cpu = cpuTime() - cpu
			b.ReportMetric(float64(wire)/float64(b.N), "wire-B/msg")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
			b.ReportMetric(float64(compressed)/float64(b.N), "compressed/msg")
		})
	}
}

// variedState is about size bytes of JSON less repetitive than bigstate's:
// rows of random identifiers, names and numbers (a fixed seed).
func variedState(size int) []map[string]any {
	r := rand.New(rand.NewPCG(1, 2))
	var rows []map[string]any
	for n := 0; n < size; n += 130 {
		rows = append(rows, map[string]any{
			"id":    fmt.Sprintf("%016x", r.Uint64()),
			"name":  fmt.Sprintf("user-%d", r.IntN(1_000_000)),
			"score": r.Float64() * 1000,
			"seen":  time.Unix(1_700_000_000+r.Int64N(10_000_000), 0).UTC(),
			"ok":    r.IntN(2) == 1,
		})
	}
	return rows
}

// BenchmarkIdleCompressedConns opens 2,000 joined connections (join
// message and 2 KB join reply compressed when negotiated), lets them go
// idle and reports the heap and stacks the process gained per connection
// (the lean clients' sockets included, the same on both sides), with
// compression off and on.
func BenchmarkIdleCompressedConns(b *testing.B) {
	const n = 2000
	for _, tt := range []struct {
		name string
		z    handler.Compression
	}{
		{"off", handler.Compression{}},
		{"on", handler.Compression{Enabled: true}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				addr := zServer(b, tt.z)
				br := bufio.NewReaderSize(nil, 64<<10)
				before := inUse()
				conns := make([]net.Conn, 0, n)
				for range n {
					c, deflate, err := zDial(addr, "bench:idle", br)
					if err != nil {
						b.Fatal(err)
					}
					if deflate != tt.z.Enabled {
						b.Fatalf("compression negotiated: %v", deflate)
					}
					conns = append(conns, c)
				}
				br.Reset(nil)
				time.Sleep(200 * time.Millisecond) // pooled readers and writers retire (poolIdle)
				after := inUse()
				b.ReportMetric(float64(after-before)/n/1024, "KiB/conn")
				for _, c := range conns {
					c.(*net.TCPConn).SetLinger(0)
					c.Close()
				}
			}
		})
	}
}

// inUse is the heap and stack memory in use after a collection.
func inUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}
