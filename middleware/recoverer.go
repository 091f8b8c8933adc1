package middleware

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
)

// Recoverer turns a panic in an ordinary HTTP handler into a 500 response
// and an Error log with the stack (nil logs to slog.Default()). When the
// response had already started, the connection is aborted instead (the
// client sees a truncated response, not a complete-looking one); a hijacked
// connection is closed. http.ErrAbortHandler passes through untouched, as
// net/http expects. Channel callbacks need no Recoverer: the engine already
// recovers their panics.
func Recoverer(l *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rw := wrap(w)
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(p)
				}
				log := l
				if log == nil {
					log = slog.Default()
				}
				log.LogAttrs(r.Context(), slog.LevelError, "http handler panicked",
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.String("panic", fmt.Sprint(p)),
					slog.String("stack", string(debug.Stack())))
				switch {
				case rw.conn != nil:
					rw.conn.Close()
				case rw.wroteHeader:
					panic(http.ErrAbortHandler)
				default:
					http.Error(rw, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
				}
			}()
			next.ServeHTTP(rw, r)
		})
	}
}
