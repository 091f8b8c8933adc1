// Command roundrobin is a load balancer for trying a Seance cluster on one
// machine: it sends each HTTP request (and each WebSocket upgrade) to the
// next backend in turn, with no session affinity at all, and skips a
// backend for a few seconds after it failed to answer.
//
//	go run ./examples/roundrobin -addr 127.0.0.1:4000 http://127.0.0.1:4001 http://127.0.0.1:4002 http://127.0.0.1:4003
//
// Every long-poll request of one client may land on a different node; see
// "Running a cluster" in the README.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:4000", "listen address")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: roundrobin [-addr host:port] BACKEND_URL...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	lb, err := newBalancer(flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "roundrobin:", err)
		os.Exit(2)
	}
	slog.Info("roundrobin: listening", "addr", *addr, "backends", flag.Args())
	srv := &http.Server{Addr: *addr, Handler: lb, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "roundrobin:", err)
		os.Exit(1)
	}
}

// balancer proxies to its backends in turn.
type balancer struct {
	backends []*backend
	next     atomic.Uint64
}

type backend struct {
	url   string
	proxy *httputil.ReverseProxy

	mu        sync.Mutex
	downUntil time.Time
}

// downFor is how long a backend that failed is skipped.
const downFor = 3 * time.Second

func newBalancer(urls []string) (*balancer, error) {
	lb := &balancer{}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("bad backend URL %q", raw)
		}
		b := &backend{url: raw, proxy: httputil.NewSingleHostReverseProxy(u)}
		b.proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			b.mu.Lock()
			b.downUntil = time.Now().Add(downFor)
			b.mu.Unlock()
			slog.Warn("roundrobin: backend failed", "backend", b.url, "error", err)
			w.WriteHeader(http.StatusBadGateway)
		}
		lb.backends = append(lb.backends, b)
	}
	return lb, nil
}

func (b *backend) up(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return now.After(b.downUntil)
}

func (lb *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	for range lb.backends {
		b := lb.backends[(lb.next.Add(1)-1)%uint64(len(lb.backends))]
		if b.up(now) {
			b.proxy.ServeHTTP(w, r)
			return
		}
	}
	http.Error(w, "no backend up", http.StatusBadGateway)
}
