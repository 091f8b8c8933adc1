package adaptertest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Command describes a broker server binary for [StartServer].
type Command struct {
	// Name is the binary, looked up in PATH.
	Name string
	// Args returns the arguments that make it listen on 127.0.0.1:port.
	Args func(port int) []string
	// Ready reports whether the server at addr ("127.0.0.1:port") serves.
	// Nil means: it accepts a TCP connection.
	Ready func(ctx context.Context, addr string) error
}

// Server is a broker server process on a loopback port, stopped at the end
// of the test that started it.
type Server struct {
	// Addr is "127.0.0.1:port"; it stays the same across Restart.
	Addr string

	t    testing.TB
	c    Command
	port int
	cmd  *exec.Cmd
	out  *tail
	done chan struct{}
}

// RequireBinary looks name up in PATH. Without it the test is skipped,
// unless the environment has CI=true, where it fails.
func RequireBinary(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
}

// StartServer starts c on a free loopback port and waits (up to 10s) until
// it is ready; a port taken meanwhile by another process makes it try
// another one. It calls RequireBinary first.
func StartServer(t testing.TB, c Command) *Server {
	t.Helper()
	RequireBinary(t, c.Name)
	var lastErr error
	for range 5 {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), t: t, c: c, port: port}
		if lastErr = s.start(); lastErr == nil {
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("%s did not start: %v", c.Name, lastErr)
	return nil
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start() error {
	s.out = &tail{}
	s.cmd = exec.Command(s.c.Name, s.c.Args(s.port)...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(s.cmd, s.done)
	ready := s.c.Ready
	if ready == nil {
		ready = dial
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if err := ready(ctx, s.Addr); err == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("%s exited: %s", s.c.Name, s.out.lastLine())
		case <-ctx.Done():
			s.Stop()
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func dial(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// Stop kills the server (as a crash would) and waits for it to exit.
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

// Pause stops the server process (SIGSTOP) without closing anything, as a
// hung broker: connections stay open, the kernel still accepts new ones
// and buffers what is sent, and nothing answers until Resume.
func (s *Server) Pause() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sigStop); err != nil {
		s.t.Fatalf("pause %s: %v", s.c.Name, err)
	}
	// The signal is delivered asynchronously: a server running on another
	// core may still answer a request or two. Wait until every thread of
	// the process is stopped (state T in /proc), so that the caller's next
	// request certainly meets a hung server.
	deadline := time.Now().Add(5 * time.Second)
	for !stopped(s.cmd.Process.Pid) {
		if time.Now().After(deadline) {
			s.t.Fatalf("pause %s: the process did not stop", s.c.Name)
		}
		time.Sleep(time.Millisecond)
	}
}

// stopped reports whether every thread of process pid is stopped (Linux;
// elsewhere it reports true at once).
func stopped(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return true
	}
	for _, task := range tasks {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			continue
		}
		// The state follows the parenthesised command name.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 || i+2 >= len(stat) {
			continue
		}
		if st := stat[i+2]; st != 'T' && st != 't' {
			return false
		}
	}
	return true
}

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() {
	if err := s.cmd.Process.Signal(sigCont); err != nil {
		s.t.Errorf("resume %s: %v", s.c.Name, err)
	}
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
			s.t.Fatalf("%s did not restart on %s: %v", s.c.Name, s.Addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tail keeps the end of a process's output.
type tail struct {
	mu sync.Mutex
	b  []byte
}

const tailSize = 4 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > tailSize {
		t.b = append(t.b[:0], t.b[len(t.b)-tailSize:]...)
	}
	return len(p), nil
}

// lastLine returns the last non-empty line written.
func (t *tail) lastLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := bytes.TrimRight(t.b, "\r\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return string(b)
}
