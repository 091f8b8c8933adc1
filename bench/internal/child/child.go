// Package child is the plumbing shared by the harness's programs: a child
// announces itself with one JSON line on stdout and stops when its standard
// input closes (so nothing outlives the orchestrator), or on SIGINT/SIGTERM.
package child

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Ready is a child server's first line.
type Ready struct {
	Addr     string `json:"addr"`
	PID      int    `json:"pid"`
	NoFile   uint64 `json:"nofile"`
	LongPoll string `json:"longpoll,omitempty"`
}

// Emit writes v as one JSON line on stdout.
func Emit(v any) {
	b, _ := json.Marshal(v)
	os.Stdout.Write(append(b, '\n'))
}

// Context ends when stdin reaches EOF or on SIGINT/SIGTERM.
func Context() (context.Context, context.CancelFunc) {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	return ctx, cancel
}

// Serve serves h on addr until ctx ends, announcing itself first; shutdown
// runs before the listener closes.
func Serve(ctx context.Context, addr string, h http.Handler, ready Ready, shutdown func(context.Context) error) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	ready.Addr, ready.PID = ln.Addr().String(), os.Getpid()
	Emit(ready)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if shutdown != nil {
		shutdown(sctx)
	}
	srv.Close()
	return nil
}
