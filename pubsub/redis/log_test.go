//go:build linux

package redis_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seance-go/seance/phx"
	psredis "github.com/seance-go/seance/pubsub/redis"
	"github.com/seance-go/seance/pubsub/redis/internal/redistest"
)

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// captureStderr redirects the process's file descriptor 2, where go-redis's
// default logger writes, until the returned function restores it and
// returns what was written.
func captureStderr(t *testing.T) func() string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved, err := syscall.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Dup3(int(w.Fd()), 2, 0); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		io.Copy(&out, r)
		close(done)
	}()
	restored := false
	restore := func() string {
		if !restored {
			restored = true
			syscall.Dup3(saved, 2, 0)
			syscall.Close(saved)
			w.Close()
			<-done
			r.Close()
		}
		return out.String()
	}
	t.Cleanup(func() { restore() })
	return restore
}

// TestGoRedisLinesGoToLogger: with Redis killed, the lines go-redis logs
// about the adapter's client (its pool's failed dials) reach
// Options.Logger, rate-limited, and nothing reaches stderr; a line about
// another go-redis client of the application still goes to stderr, as
// go-redis's default logger writes it.
func TestGoRedisLinesGoToLogger(t *testing.T) {
	srv := redistest.Start(t)
	var logs lockedBuffer
	ps, err := psredis.New(psredis.Options{
		Addr: srv.Addr, Node: "a", Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		ps.Run(ctx, func(*phx.Envelope) {})
	}()
	defer func() {
		cancel()
		<-ran
		ps.Close()
	}()
	// Subscribe refuses while the receive loop is still connecting (the
	// endpoint retries it); wait until it lands.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		err := ps.Subscribe(ctx, "room")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}

	stderr := captureStderr(t)
	srv.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "go-redis: connection pool: failed to dial") {
		if time.Now().After(deadline) {
			t.Fatalf("no go-redis line in the logger:\n%s", logs.String())
		}
		ps.Publish(ctx, &phx.Envelope{Topic: "room", Event: "e"})
		ps.Subscribe(ctx, "other")
		time.Sleep(20 * time.Millisecond)
	}
	if out := stderr(); out != "" {
		t.Errorf("written to stderr:\n%s", out)
	}
	if !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("go-redis lines not at WARN:\n%s", logs.String())
	}

	// Another client of the application, not the adapter's: its lines go
	// where go-redis's default logger sends them.
	stderr = captureStderr(t)
	other := goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1, DialerRetries: 1})
	defer other.Close()
	if other.Ping(context.Background()).Err() == nil {
		t.Fatal("ping reached a stopped Redis")
	}
	if out := stderr(); !strings.Contains(out, "redis: ") || !strings.Contains(out, "failed to dial") {
		t.Errorf("another client's line not on stderr: %q", out)
	}
}
