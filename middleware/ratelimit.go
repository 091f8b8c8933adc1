package middleware

import (
	"container/list"
	"context"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

// RateLimitOptions configures a [RateLimiter]. Zero fields take the
// defaults.
type RateLimitOptions struct {
	// Rate is how many attempts per second a client regains (default 1).
	Rate float64
	// Burst is how many attempts a client may make at once (default 10).
	Burst int
	// MaxClients caps the buckets kept in memory (default 10000). Past it
	// the least recently seen client's bucket is dropped (that client starts
	// afresh).
	MaxClients int
	// Key names the client of an HTTP request (default: [ClientIP] of
	// r.RemoteAddr; put chi's middleware.RealIP in front behind a proxy).
	Key func(r *http.Request) string
}

// RateLimiter is a per-client token bucket: each attempt takes a token; a
// client's bucket holds at most Burst tokens and refills at Rate per
// second. Buckets that refilled completely are forgotten, and at most
// MaxClients are kept, so memory stays bounded; no goroutine runs. It is
// safe for concurrent use; use one limiter per kind of attempt.
type RateLimiter struct {
	rate     float64
	burst    float64
	max      int
	fullIdle time.Duration // after this long unused, a bucket is full again
	key      func(r *http.Request) string
	now      func() time.Time

	mu      sync.Mutex
	buckets map[string]*list.Element // of *bucket
	lru     list.List                // front: most recently used
}

type bucket struct {
	key    string
	tokens float64
	last   time.Time
}

// NewRateLimiter returns a limiter.
func NewRateLimiter(opts RateLimitOptions) *RateLimiter {
	if opts.Rate <= 0 {
		opts.Rate = 1
	}
	if opts.Burst <= 0 {
		opts.Burst = 10
	}
	if opts.MaxClients <= 0 {
		opts.MaxClients = 10000
	}
	if opts.Key == nil {
		opts.Key = func(r *http.Request) string { return ClientIP(r.RemoteAddr) }
	}
	return &RateLimiter{
		rate:     opts.Rate,
		burst:    float64(opts.Burst),
		max:      opts.MaxClients,
		fullIdle: time.Duration(float64(opts.Burst) / opts.Rate * float64(time.Second)),
		key:      opts.Key,
		now:      time.Now,
		buckets:  map[string]*list.Element{},
	}
}

// Allow takes a token from key's bucket, reporting whether there was one.
func (l *RateLimiter) Allow(key string) bool {
	ok, _ := l.take(key)
	return ok
}

// Len reports how many client buckets are held.
func (l *RateLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// take takes a token; when there is none it returns how long until one.
func (l *RateLimiter) take(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	// Forget buckets that are full again: the least recently used first.
	for e := l.lru.Back(); e != nil; e = l.lru.Back() {
		b := e.Value.(*bucket)
		if now.Sub(b.last) < l.fullIdle {
			break
		}
		l.remove(e)
	}
	var b *bucket
	if e, ok := l.buckets[key]; ok {
		b = e.Value.(*bucket)
		b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
		b.last = now
		l.lru.MoveToFront(e)
	} else {
		for len(l.buckets) >= l.max {
			l.remove(l.lru.Back())
		}
		b = &bucket{key: key, tokens: l.burst, last: now}
		l.buckets[key] = l.lru.PushFront(b)
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

func (l *RateLimiter) remove(e *list.Element) {
	delete(l.buckets, e.Value.(*bucket).key)
	l.lru.Remove(e)
}

// CheckJoin takes a token for the client of a connection and returns a
// *phx.JoinError with {"reason":"rate limited"} when there is none. Call it
// from a phx.Handler's Join or a LiveState Authorize:
//
//	if err := joins.CheckJoin(s.ConnectInfo()); err != nil { return err }
//
// phoenix.js retries a refused join every 1–10 s (rejoinAfterMs), so a
// limit of about one join per second with a small burst lets well-behaved
// clients through and bounds the work a misbehaving one causes.
func (l *RateLimiter) CheckJoin(info *phx.ConnectInfo) error {
	if l.Allow(ClientIP(info.RemoteAddr)) {
		return nil
	}
	return &phx.JoinError{Response: map[string]string{"reason": "rate limited"}}
}

// ClientIP returns the IP of a host:port address; IPv6 addresses are
// reduced to their /64 network (one client usually owns a whole /64).
// Anything unparsable is returned as is.
func ClientIP(addr string) string {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return addr
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return (&net.IPNet{IP: ip.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
}

// RateLimit limits every request through it by client (the limiter's Key):
// past the limit it answers 429 Too Many Requests with Retry-After. Use it
// for REST routes and login endpoints. Do not put it in front of a socket's
// long-poll path (every poll is a request); limit socket connections with
// [LimitConnect], which counts connection attempts only.
func RateLimit(l *RateLimiter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if ok, wait := l.take(l.key(r)); !ok {
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
				http.Error(w, "too many requests", http.StatusTooManyRequests)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// LimitConnect wraps a socket's connect hook (handler.Options.Connect, nil
// for none) so that each connection attempt — a WebSocket upgrade or the
// creation of a long-poll session — takes a token of the client (the
// limiter's Key). Past the limit the attempt is refused before next runs:
// HTTP 429 on the WebSocket upgrade, {"status":403} on long-poll (the only
// refusal phoenix.js handles there). The client retries with backoff.
func LimitConnect(l *RateLimiter, next handler.ConnectFunc) handler.ConnectFunc {
	return func(r *http.Request, info *phx.ConnectInfo) error {
		if !l.Allow(l.key(r)) {
			return &handler.HTTPError{Status: http.StatusTooManyRequests, Reason: "rate limited"}
		}
		if next == nil {
			return nil
		}
		return next(r, info)
	}
}

// LimitJoins returns a phx.Config.BeforeJoin hook in which each join takes
// a token of the client's IP ([RateLimiter.CheckJoin]); past the limit the
// join is refused with {"reason":"rate limited"} before the channel's Join
// runs:
//
//	phx.Config{BeforeJoin: middleware.LimitJoins(joins)}
func LimitJoins(l *RateLimiter) func(ctx context.Context, ch *phx.Channel, params phx.Payload) error {
	return func(ctx context.Context, ch *phx.Channel, params phx.Payload) error {
		return l.CheckJoin(ch.ConnectInfo())
	}
}
