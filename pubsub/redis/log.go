package redis

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seance-go/seance/pubsub/internal/adapter"
)

// go-redis writes lines of its own (the connection pool's failed dials,
// among others) through one logger for the whole process, set with
// goredis.SetLogger and writing to stderr by default; a client has no
// logger of its own. So that a PubSub's lines reach its Options.Logger and
// nothing else, New installs, once per process, a go-redis logger
// (logRouter) that holds no state: it finds the PubSub a line is about in
// the line itself — the context go-redis logs with carries the PubSub when
// the call came from it, and the error of a failed dial of a client New
// created is wrapped by that client's dialer (dialError) — and writes every
// other line to stderr as go-redis's own default does, so the application's
// other Redis clients log as before.
//
// installLogRouter is this package's only package-level state, and it only
// ever goes from "not installed" to "installed". An application that calls
// goredis.SetLogger after New replaces the router for every client, this
// adapter's included; with Options.Client, the client's failed dials are
// not recognised (go-redis logs them without a context of ours) and follow
// the router's stderr default.
var installLogRouter sync.Once

// logRoute is where a PubSub's go-redis lines go: its logger, one line a
// second at most.
type logRoute struct {
	log *slog.Logger
	lim adapter.Limiter
}

func (r *logRoute) Printf(msg string) {
	r.lim.Warn(r.log, "redis pubsub: go-redis: "+msg)
}

// routeKey is the context key under which a PubSub's calls into go-redis
// carry its logRoute.
type routeKey struct{}

func withRoute(ctx context.Context, r *logRoute) context.Context {
	return context.WithValue(ctx, routeKey{}, r)
}

// dialError is a failed dial of a client New created: the error, with the
// route of the PubSub that owns the client. It reads as the error it wraps.
type dialError struct {
	err   error
	route *logRoute
}

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// Timeout and Temporary keep go-redis's net.Error checks working.
func (e *dialError) Timeout() bool {
	var ne net.Error
	return errors.As(e.err, &ne) && ne.Timeout()
}

func (e *dialError) Temporary() bool {
	var ne interface{ Temporary() bool }
	return errors.As(e.err, &ne) && ne.Temporary()
}

// routedDialer wraps go-redis's dialer for opt so that its errors carry r.
func routedDialer(opt *goredis.Options, r *logRoute) func(context.Context, string, string) (net.Conn, error) {
	dial := goredis.NewDialer(opt)
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, &dialError{err: err, route: r}
		}
		return c, nil
	}
}

// logRouter is the go-redis logger New installs (see installLogRouter).
type logRouter struct {
	stderr *log.Logger // for lines of no PubSub: go-redis's default output
}

func (l logRouter) Printf(ctx context.Context, format string, v ...any) {
	msg := strings.TrimPrefix(strings.TrimSpace(fmt.Sprintf(format, v...)), "redis: ")
	if r := routeOf(ctx, v); r != nil {
		r.Printf(msg)
		return
	}
	l.stderr.Print(msg)
}

// routeOf finds the PubSub a line is about: in its context, or in an
// error among its arguments.
func routeOf(ctx context.Context, args []any) *logRoute {
	if ctx != nil {
		if r, ok := ctx.Value(routeKey{}).(*logRoute); ok {
			return r
		}
	}
	for _, a := range args {
		var de *dialError
		if err, ok := a.(error); ok && errors.As(err, &de) {
			return de.route
		}
	}
	return nil
}

func useLogRouter() {
	installLogRouter.Do(func() {
		goredis.SetLogger(logRouter{stderr: log.New(os.Stderr, "redis: ", log.LstdFlags)})
	})
}
