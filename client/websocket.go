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

// wsConn is a WebSocket connection with a reader and a writer goroutine.
type wsConn struct {
	c     *websocket.Conn
	cfg   *dialConfig
	stop  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
	mu    sync.Mutex
	queue []outFrame
	wake  chan struct{}
}

func dialWebSocket(ctx context.Context, cfg *dialConfig) (*wsConn, error) {
	d := websocket.Dialer{
		Proxy:           http.ProxyFromEnvironment,
		TLSClientConfig: cfg.opts.TLSConfig,
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
	w := &wsConn{c: c, cfg: cfg, stop: make(chan struct{}), wake: make(chan struct{}, 1)}
	w.wg.Add(2)
	go w.readLoop()
	go w.writeLoop()
	return w, nil
}

func (w *wsConn) heartbeats() bool { return true }

func (w *wsConn) send(frames []outFrame) {
	w.mu.Lock()
	w.queue = append(w.queue, frames...)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
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

func (w *wsConn) writeLoop() {
	defer w.wg.Done()
	for {
		select {
		case <-w.stop:
			return
		case <-w.wake:
		}
		w.mu.Lock()
		batch := w.queue
		w.queue = nil
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
		close(w.stop)
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		_ = w.c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		_ = w.c.Close()
		w.wg.Wait()
	})
}
