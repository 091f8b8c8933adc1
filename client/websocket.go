package client

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// authTokenPrefix is the subprotocol prefix phoenix.js 1.8 uses to carry
// the auth token in the WebSocket handshake.
const authTokenPrefix = "base64url.bearer.phx."

// wsReadBufferSize is the WebSocket read buffer of a connection, held for
// its whole life. Phoenix frames are mostly small; larger ones are read
// straight into the message, bypassing the buffer. Half of gorilla's 4 KiB
// default keeps an idle socket within its memory budget.
const wsReadBufferSize = 2048

// writeBufferPool lends write buffers to WebSocket connections for the
// duration of one message, so an idle connection holds none (about 4 KiB
// saved per socket). Like every sync.Pool it is safe for concurrent use.
var writeBufferPool sync.Pool

// wsConn is a WebSocket connection with a reader goroutine and a writer
// goroutine that runs only while frames are queued.
type wsConn struct {
	c    *websocket.Conn
	cfg  *dialConfig
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup

	mu      sync.Mutex
	queue   []outFrame
	writing bool // a writeLoop is running (or the connection failed)
	closed  bool
}

func dialWebSocket(ctx context.Context, cfg *dialConfig) (*wsConn, error) {
	d := websocket.Dialer{
		Proxy:           http.ProxyFromEnvironment,
		TLSClientConfig: cfg.opts.TLSConfig,
		ReadBufferSize:  wsReadBufferSize,
		WriteBufferPool: &writeBufferPool,
	}
	if cfg.authToken != "" {
		// Standard alphabet without padding, like btoa(token) with "="
		// stripped in phoenix.js, despite the "base64url" prefix.
		enc := base64.RawStdEncoding.EncodeToString([]byte(cfg.authToken))
		d.Subprotocols = []string{"phoenix", authTokenPrefix + enc}
	}
	c, resp, err := d.DialContext(ctx, cfg.url, cfg.header)
	if err != nil {
		if resp != nil {
			return nil, &HandshakeError{StatusCode: resp.StatusCode, Err: err}
		}
		return nil, err
	}
	w := &wsConn{c: c, cfg: cfg, stop: make(chan struct{})}
	w.wg.Add(1)
	go w.readLoop()
	return w, nil
}

func (w *wsConn) heartbeats() bool { return true }

func (w *wsConn) send(frames []outFrame) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.queue = append(w.queue, frames...)
	if !w.writing {
		w.writing = true
		w.wg.Add(1)
		go w.writeLoop()
	}
}

func (w *wsConn) readLoop() {
	defer w.wg.Done()
	for {
		mt, data, err := w.c.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				err = &CloseError{Code: ce.Code, Text: ce.Text}
			}
			w.cfg.sink.down(w.stop, err)
			return
		}
		f, err := w.cfg.codec.decode(data, mt == websocket.BinaryMessage)
		if err != nil {
			w.cfg.log.Warn("phoenix client: dropping undecodable frame", "err", err)
			continue
		}
		if !w.cfg.sink.frame(w.stop, f) {
			return
		}
	}
}

// writeLoop writes queued frames until the queue is empty. After a write
// error it leaves writing set, so no writer starts again on the dead
// connection.
func (w *wsConn) writeLoop() {
	defer w.wg.Done()
	for {
		w.mu.Lock()
		batch := w.queue
		w.queue = nil
		if len(batch) == 0 || w.closed {
			w.writing = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		for _, f := range batch {
			mt := websocket.TextMessage
			if f.binary {
				mt = websocket.BinaryMessage
			}
			_ = w.c.SetWriteDeadline(time.Now().Add(w.cfg.opts.Timeout))
			if err := w.c.WriteMessage(mt, f.data); err != nil {
				w.cfg.sink.down(w.stop, err)
				return
			}
		}
	}
}

func (w *wsConn) close() {
	w.once.Do(func() {
		w.mu.Lock()
		w.closed = true
		w.queue = nil
		w.mu.Unlock()
		close(w.stop)
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		_ = w.c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		_ = w.c.Close()
		w.wg.Wait()
	})
}
