package phx_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/seance-go/seance/internal/sessiontest"
	"github.com/seance-go/seance/phx"
)

// logBuffer collects JSON log lines; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func (b *logBuffer) raw() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestLogAttributes(t *testing.T) {
	logs := &logBuffer{}
	ep, _ := newEndpoint(t, phx.Config{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	const secret = "s3cr3t-t0ken"
	info := phx.ConnectInfo{Transport: "websocket", RemoteAddr: "192.0.2.1:5000", AuthToken: secret,
		Params: map[string]any{"token": secret, "vsn": "2.0.0"}}
	c := &client{sessiontest.Open(t, ep, info, phx.V2JSON(), true)}

	// Ordinary life: join, events, leave, a stale message, disconnect.
	c.send(`["1","1","room:1","phx_join",{"token":"` + secret + `"}]`)
	c.nextFrame()
	c.send(`["1","2","room:1","echo",{}]`)
	c.nextFrame()
	c.send(`["1","3","room:1","phx_leave",{}]`)
	c.nextFrame()
	c.nextFrame()
	c.send(`["1","4","room:9","echo",{}]`)
	c.nextFrame()
	for _, l := range logs.lines(t) {
		if l["level"] == "WARN" || l["level"] == "ERROR" {
			t.Errorf("ordinary traffic logged at %s: %v", l["level"], l)
		}
	}

	// A crash: an error line with every attribute of the channel.
	c.send(`["5","5","room:2","phx_join",{}]`)
	c.nextFrame()
	c.send(`["5","6","room:2","panic",{}]`)
	c.nextFrame()
	var crash map[string]any
	for _, l := range logs.lines(t) {
		if l["msg"] == "phx: channel crashed" {
			crash = l
		}
	}
	if crash == nil {
		t.Fatalf("no crash line in\n%s", logs.raw())
	}
	want := map[string]any{"level": "ERROR", "conn": c.Sess.ID(), "transport": "websocket", "remote": "192.0.2.1:5000", "topic": "room:2", "join_ref": "5"}
	for k, v := range want {
		if crash[k] != v {
			t.Errorf("crash line %s = %v, want %v", k, crash[k], v)
		}
	}
	c.Sess.Detach()
	if strings.Contains(logs.raw(), secret) {
		t.Errorf("a log line carries the token:\n%s", logs.raw())
	}
	other := &client{sessiontest.Open(t, ep, info, phx.V2JSON(), true)}
	if other.Sess.ID() == c.Sess.ID() || c.Sess.ID() == "" {
		t.Errorf("connection ids %q and %q: want distinct", c.Sess.ID(), other.Sess.ID())
	}
}
