package middleware

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// responseWriter records the status and size of a response and whether the
// connection was hijacked, while keeping http.Flusher, http.Hijacker,
// io.ReaderFrom and http.ResponseController (Unwrap) working.
type responseWriter struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
	conn        net.Conn // the hijacked connection, if any
	// onHijack may wrap the hijacked connection.
	onHijack func(net.Conn) net.Conn
}

func (w *responseWriter) WriteHeader(code int) {
	if !w.wroteHeader && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.wroteHeader, w.status = true, code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.wroteHeader, w.status = true, http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the sendfile fast path of the underlying writer.
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.wroteHeader, w.status = true, http.StatusOK
	}
	n, err := io.Copy(w.ResponseWriter, r)
	w.bytes += n
	return n, err
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() {
	w.FlushError()
}

// FlushError is what http.ResponseController.Flush calls.
func (w *responseWriter) FlushError() error {
	if !w.wroteHeader {
		w.wroteHeader, w.status = true, http.StatusOK
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker (WebSocket upgrades).
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if w.onHijack != nil {
		conn = w.onHijack(conn)
	}
	w.conn = conn
	if !w.wroteHeader {
		w.wroteHeader, w.status = true, http.StatusSwitchingProtocols
	}
	return conn, rw, nil
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wrap returns a recording writer around w.
func wrap(w http.ResponseWriter) *responseWriter {
	return &responseWriter{ResponseWriter: w}
}
