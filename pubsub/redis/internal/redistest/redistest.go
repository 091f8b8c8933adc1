// Package redistest starts throwaway redis-server processes for tests.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"

	"github.com/seance-go/seance/pubsub/internal/adaptertest"
)

// Start starts a redis-server on a free loopback port, stopped at the end
// of the test; its Addr is "127.0.0.1:port" and stays the same across
// Restart. Without a redis-server binary the test is skipped, unless the
// environment has CI=true, where it fails.
func Start(t testing.TB) *adaptertest.Server {
	t.Helper()
	return adaptertest.StartServer(t, adaptertest.Command{
		Name: "redis-server",
		Args: func(port int) []string {
			return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
				"--save", "", "--appendonly", "no", "--dir", t.TempDir(), "--loglevel", "warning"}
		},
		Ready: Ping,
	})
}

// Ping sends PING to addr over a plain connection and checks for +PONG.
func Ping(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("redis answered %q", line)
	}
	return nil
}
