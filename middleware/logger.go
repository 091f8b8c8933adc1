package middleware

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Logger logs each request with log/slog when it ends: method, path (never
// the query string, which may carry tokens), status, bytes, duration and
// remote address — at Info, or Error for 5xx. A request whose connection is
// hijacked (a WebSocket upgrade) is logged when that connection closes, as
// "http upgrade" with the upgrade's whole duration. nil logs to
// slog.Default(). The wrapped writer keeps http.Hijacker and http.Flusher
// working.
func Logger(l *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			log := l
			if log == nil {
				log = slog.Default()
			}
			start := time.Now()
			rw := wrap(w)
			rw.onHijack = func(c net.Conn) net.Conn {
				return &loggedConn{Conn: c, done: func() {
					log.LogAttrs(r.Context(), slog.LevelInfo, "http upgrade",
						slog.String("method", r.Method),
						slog.String("path", r.URL.Path),
						slog.String("upgrade", r.Header.Get("Upgrade")),
						slog.Int("status", http.StatusSwitchingProtocols),
						slog.Duration("duration", time.Since(start)),
						slog.String("remote", r.RemoteAddr))
				}}
			}
			defer func() {
				if rw.conn != nil {
					return // logged when the connection closes
				}
				status := rw.status
				if !rw.wroteHeader {
					status = http.StatusOK
				}
				level := slog.LevelInfo
				if status >= 500 {
					level = slog.LevelError
				}
				log.LogAttrs(r.Context(), level, "http request",
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.Int("status", status),
					slog.Int64("bytes", rw.bytes),
					slog.Duration("duration", time.Since(start)),
					slog.String("remote", r.RemoteAddr))
			}()
			next.ServeHTTP(rw, r)
		})
	}
}

// loggedConn calls done once, when the hijacked connection is closed.
type loggedConn struct {
	net.Conn
	once sync.Once
	done func()
}

func (c *loggedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.done)
	return err
}
