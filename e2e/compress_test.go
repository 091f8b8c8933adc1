package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// The compression tests run real clients against a server with
// permessage-deflate on (handler.Options.Compression), through a TCP proxy
// that counts the bytes the server sends: a 100 KB state must arrive whole
// while far fewer bytes cross the wire.

// bigNote is a 100 KB state field, as compressible as typical JSON data
// (repetitive keys, varying numbers).
func bigNote() string {
	var b strings.Builder
	for i := 0; b.Len() < 100_000; i++ {
		fmt.Fprintf(&b, "item-%d:%d;", i, i*7919%10007)
	}
	return b.String()
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// bigShared is a shared state whose every topic starts with bigNote: its
// state:change is one prepared frame for all the topic's sockets.
type bigShared struct{}

func (bigShared) Init(context.Context, string) (counterState, error) {
	return counterState{Note: bigNote()}, nil
}

func (bigShared) HandleEvent(_ context.Context, _ *livestate.Socket, event string, _ phx.Payload, st *counterState) error {
	if event != "increment" {
		return fmt.Errorf("unknown event %q", event)
	}
	st.Count++
	return nil
}

// countingProxy forwards TCP connections to a server and counts the bytes
// the server sends on WebSocket connections.
type countingProxy struct {
	ln    net.Listener
	down  atomic.Int64 // server → client bytes of WebSocket connections
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

func newCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			p.wg.Add(2)
			go func() {
				defer p.wg.Done()
				io.Copy(s, c)
				s.(*net.TCPConn).CloseWrite()
			}()
			go func() {
				defer p.wg.Done()
				io.Copy(&countWriter{w: c, n: &p.down}, s)
				c.(*net.TCPConn).CloseWrite()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *countingProxy) URL() string { return "http://" + p.ln.Addr().String() }

// countWriter counts into n what it writes of a connection whose response
// (its first write, on loopback) switches to WebSocket.
type countWriter struct {
	w       io.Writer
	n       *atomic.Int64
	started bool
	ws      bool
}

func (w *countWriter) Write(b []byte) (int, error) {
	if !w.started {
		w.started = true
		w.ws = bytes.HasPrefix(b, []byte("HTTP/1.1 101 "))
	}
	n, err := w.w.Write(b)
	if w.ws {
		w.n.Add(int64(n))
	}
	return n, err
}

// newCompressedServer serves the conformance channels and bigshared:* with
// compression on, behind a counting proxy.
func newCompressedServer(t *testing.T) (*httptest.Server, *countingProxy, *http.ServeMux) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := livestate.NewRegistry(livestate.Config{
		Engine: phx.Config{Logger: logger},
		Socket: handler.Options{Logger: logger, Compression: handler.Compression{Enabled: true}},
	})
	registerChannels(reg)
	reg.Handle("bigshared:*", livestate.NewShared[counterState](bigShared{}, livestate.Options{}))
	mux := http.NewServeMux()
	mux.Handle(socketPath+"/", livestate.Handler(reg))
	srv := httptest.NewServer(mux)
	proxy := newCountingProxy(t, srv.Listener.Addr().String())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := reg.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		srv.Close()
	})
	return srv, proxy, mux
}

// compressedResult is what the client scripts report.
type compressedResult struct {
	Extensions string `json:"extensions"`
	Shared     struct {
		Len int    `json:"len"`
		SHA string `json:"sha"`
	} `json:"shared"`
	Own struct {
		Len int    `json:"len"`
		SHA string `json:"sha"`
	} `json:"own"`
	Count   int `json:"count"`   // the counter after the increments
	Patches int `json:"patches"` // state:patch frames (livestate-patch events) seen
}

// check verifies a client's report and the bytes on the wire: two 100 KB
// states (a shared one and the connection's own, both received whole),
// patches, and in all fewer bytes than one state's size.
func (r *compressedResult) check(t *testing.T, proxy *countingProxy) {
	t.Helper()
	if !strings.HasPrefix(r.Extensions, "permessage-deflate") {
		t.Errorf("negotiated extensions %q, want permessage-deflate", r.Extensions)
	}
	note := bigNote()
	for name, got := range map[string]struct {
		Len int    `json:"len"`
		SHA string `json:"sha"`
	}{"shared": r.Shared, "own": r.Own} {
		if got.Len != len(note) || got.SHA != sha(note) {
			t.Errorf("%s state: note of %d bytes (sha %.12s), want %d (sha %.12s)", name, got.Len, got.SHA, len(note), sha(note))
		}
	}
	if r.Count != 3 || r.Patches < 1 {
		t.Errorf("counter %d after 3 increments, %d patches", r.Count, r.Patches)
	}
	down := proxy.down.Load()
	t.Logf("server sent %d bytes for two states of %d bytes each", down, len(note))
	if down > int64(len(note)) { // uncompressed: more than twice that

		t.Errorf("server sent %d bytes for two states of %d bytes: not compressed", down, len(note))
	}
}

// TestCompressedNode: phoenix.js 1.7 and 1.8 in Node over the ws package
// with perMessageDeflate negotiate compression, and receive a 100 KB
// state:change of a shared state (one prepared frame) and one of their own
// (join param sent compressed), then state:patch frames, intact.
func TestCompressedNode(t *testing.T) {
	node := requireNode(t)
	for _, pkg := range []string{"phoenix", "phoenix17"} {
		t.Run(pkg, func(t *testing.T) {
			_, proxy, _ := newCompressedServer(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			url := "ws" + strings.TrimPrefix(proxy.URL(), "http") + socketPath
			cmd := exec.CommandContext(ctx, node, "js/compressed.mjs", url, pkg)
			cmd.Env = append(cmd.Environ(), "NODE_NO_WARNINGS=1")
			stderr := &lineLogger{t: t}
			cmd.Stderr = stderr
			cmd.WaitDelay = 5 * time.Second
			out, err := cmd.Output()
			stderr.flush()
			if err != nil {
				t.Fatalf("node: %v\n%s", err, out)
			}
			var r compressedResult
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("node printed %q: %v", out, err)
			}
			r.check(t, proxy)
		})
	}
}

// TestCompressedChromium: phx-live-state (0.12, on phoenix 1.8) in Chromium
// negotiates compression and receives a large shared state, a large state of
// its own and patches over the compressed socket.
func TestCompressedChromium(t *testing.T) {
	node := requireNode(t, "playwright-core")
	chromium := requireChromium(t)
	_, proxy, mux := newCompressedServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	esbuild(t, ctx, liveStateBundles[0].entry, filepath.Join(dir, "lvs.js"), "browser", true)
	mux.Handle("GET /compressed/lvs.js", http.StripPrefix("/compressed/", http.FileServerFS(os.DirFS(dir))))
	mux.HandleFunc("GET /compressed/{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>compressed</title>`+
			`<script type="module">import { LiveState } from './lvs.js'; window.LiveState = LiveState;</script>`)
	})
	cmd := exec.CommandContext(ctx, node, "js/compressed-browser.mjs", proxy.URL()+"/compressed/", socketPath)
	cmd.Env = append(cmd.Environ(), "NODE_NO_WARNINGS=1", "SEANCE_CHROMIUM="+chromium)
	stderr := &lineLogger{t: t}
	cmd.Stderr = stderr
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.Output()
	stderr.flush()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var r compressedResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("node printed %q: %v", out, err)
	}
	r.check(t, proxy)
}
