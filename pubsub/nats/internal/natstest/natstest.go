// Package natstest starts throwaway nats-server processes for tests.
package natstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/seance-go/seance/pubsub/internal/adaptertest"
)

// Server is a nats-server process on a loopback port, stopped at the end of
// the test.
type Server struct {
	*adaptertest.Server
	// URL is "nats://127.0.0.1:port"; it stays the same across Restart.
	URL string

	monitor atomic.Int64 // the HTTP monitoring port of the running process
}

// Start starts a nats-server on a free port. Without a nats-server binary
// the test is skipped, unless the environment has CI=true, where it fails.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, nil)
}

// StartJetStream is Start with JetStream enabled (its store in a
// temporary directory of the test).
func StartJetStream(t testing.TB) *Server {
	t.Helper()
	return start(t, []string{"-js", "-sd", t.TempDir()})
}

func start(t testing.TB, extra []string) *Server {
	t.Helper()
	s := &Server{}
	s.Server = adaptertest.StartServer(t, adaptertest.Command{
		Name: "nats-server",
		Args: func(port int) []string {
			mon, err := adaptertest.FreePort()
			if err != nil {
				t.Fatal(err)
			}
			s.monitor.Store(int64(mon))
			return append([]string{"-a", "127.0.0.1", "-p", strconv.Itoa(port), "-m", strconv.Itoa(mon)}, extra...)
		},
	})
	s.URL = "nats://" + s.Addr
	return s
}

// Subscribers returns how many client subscriptions the server has on
// subject, as its monitoring endpoint /connz reports them.
func (s *Server) Subscribers(subject string) (int, error) {
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/connz?subs=1&limit=1024", s.monitor.Load()), nil)
	if err != nil {
		return 0, err
	}
	req.Close = true // no idle connection left behind
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var connz struct {
		Connections []struct {
			Subscriptions []string `json:"subscriptions_list"`
		} `json:"connections"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&connz); err != nil {
		return 0, fmt.Errorf("nats-server /connz: %w", err)
	}
	n := 0
	for _, c := range connz.Connections {
		for _, sub := range c.Subscriptions {
			if sub == subject {
				n++
			}
		}
	}
	return n, nil
}
