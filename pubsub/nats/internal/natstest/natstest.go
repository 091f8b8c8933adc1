// Package natstest starts throwaway nats-server processes for tests.
package natstest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Server is a nats-server process on a loopback port, stopped at the end of
// the test.
type Server struct {
	// URL is "nats://127.0.0.1:port"; it stays the same across Restart.
	URL string

	t    testing.TB
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts a nats-server on a free port. Without a nats-server binary
// the test is skipped, unless the environment has CI=true, where it fails.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("nats-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("nats-server is required under CI=true: %v", err)
		}
		t.Skipf("nats-server not installed: %v", err)
	}
	var lastErr error
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		s := &Server{URL: "nats://127.0.0.1:" + strconv.Itoa(port), t: t, port: port}
		if lastErr = s.start(); lastErr == nil {
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("nats-server did not start: %v", lastErr)
	return nil
}

func (s *Server) start() error {
	s.cmd = exec.Command("nats-server", "-a", "127.0.0.1", "-p", strconv.Itoa(s.port))
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(s.cmd, s.done)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr := "127.0.0.1:" + strconv.Itoa(s.port)
	for {
		var d net.Dialer
		if c, err := d.DialContext(ctx, "tcp", addr); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("nats-server exited")
		case <-ctx.Done():
			s.Stop()
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop kills the server and waits for it to exit.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Restart starts the server again on the same port after Stop.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.start()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("nats-server did not restart on %s: %v", s.URL, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
