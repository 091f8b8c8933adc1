package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// maxPostLines is the most frames one long-poll POST carries, like
// phoenix.js MAX_LONGPOLL_BATCH_SIZE.
const maxPostLines = 100

// Long-poll statuses carried in the JSON body (phoenix-channels.md §6.2).
const (
	lpOK        = 200
	lpNoContent = 204
	lpForbidden = 403
	lpGone      = 410
)

// lpConn is a long-poll session: one goroutine holds GETs, another sends
// queued frames as ndjson POSTs, one POST in flight at a time.
type lpConn struct {
	cfg    *dialConfig
	ctx    context.Context
	cancel context.CancelFunc
	stop   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup

	mu    sync.Mutex
	token string
	lines []string
	wake  chan struct{}
}

type lpResponse struct {
	Status   int      `json:"status"`
	Token    *string  `json:"token"`
	Messages []string `json:"messages"`
}

func dialLongPoll(ctx context.Context, cfg *dialConfig) (*lpConn, error) {
	c := &lpConn{cfg: cfg, stop: make(chan struct{}), wake: make(chan struct{}, 1)}
	// The first GET carries no token; the server answers 410 with one.
	resp, err := c.request(ctx, http.MethodGet, "", nil)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.Status == lpGone && resp.Token != nil && *resp.Token != "":
		c.token = *resp.Token
	case resp.Status == lpForbidden:
		return nil, &HandshakeError{StatusCode: resp.Status}
	default:
		return nil, &HandshakeError{StatusCode: resp.Status, Err: errors.New("long-poll open did not return 410 with a token")}
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(2)
	go c.pollLoop()
	go c.sendLoop()
	return c, nil
}

func (c *lpConn) heartbeats() bool { return false }

func (c *lpConn) send(frames []outFrame) {
	c.mu.Lock()
	for _, f := range frames {
		if f.binary {
			c.lines = append(c.lines, base64.StdEncoding.EncodeToString(f.data))
		} else {
			c.lines = append(c.lines, string(f.data))
		}
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *lpConn) close() {
	c.once.Do(func() {
		close(c.stop)
		c.cancel()
		c.wg.Wait()
	})
}

func (c *lpConn) currentToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}

func (c *lpConn) pollLoop() {
	defer c.wg.Done()
	for {
		resp, err := c.request(c.ctx, http.MethodGet, c.currentToken(), nil)
		if c.stopped() {
			return
		}
		if err != nil {
			c.cfg.sink.down(c.stop, err)
			return
		}
		if resp.Token != nil && *resp.Token != "" {
			c.mu.Lock()
			c.token = *resp.Token
			c.mu.Unlock()
		}
		switch resp.Status {
		case lpOK:
			for _, m := range resp.Messages {
				f, err := c.cfg.codec.decode([]byte(m), false)
				if err != nil {
					c.cfg.log.Warn("phoenix client: dropping undecodable frame", "err", err)
					continue
				}
				if !c.cfg.sink.frame(c.stop, f) {
					return
				}
			}
		case lpNoContent:
		case lpGone:
			c.cfg.sink.down(c.stop, ErrSessionGone)
			return
		default:
			c.cfg.sink.down(c.stop, fmt.Errorf("client: long-poll status %d", resp.Status))
			return
		}
	}
}

func (c *lpConn) sendLoop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.stop:
			return
		case <-c.wake:
		}
		for {
			c.mu.Lock()
			n := min(len(c.lines), maxPostLines)
			batch := append([]string(nil), c.lines[:n]...)
			c.lines = c.lines[n:]
			c.mu.Unlock()
			if n == 0 {
				break
			}
			body := []byte(strings.Join(batch, "\n"))
			resp, err := c.request(c.ctx, http.MethodPost, c.currentToken(), body)
			if c.stopped() {
				return
			}
			if err == nil && resp.Status != lpOK {
				err = fmt.Errorf("client: long-poll POST status %d", resp.Status)
				if resp.Status == lpGone {
					err = ErrSessionGone
				}
			}
			if err != nil {
				c.cfg.sink.down(c.stop, err)
				return
			}
		}
	}
}

func (c *lpConn) stopped() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// request performs one GET or POST and decodes the JSON status body. The
// session token goes both in the X-Phoenix-Longpoll-Token header and as the
// last token query value, so old and new servers find it.
func (c *lpConn) request(ctx context.Context, method, token string, body []byte) (*lpResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.pollTimeout)
	defer cancel()
	u := c.cfg.url
	if token != "" {
		u += "&token=" + url.QueryEscape(token)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range c.cfg.header {
		req.Header[k] = append([]string(nil), v...)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/x-ndjson")
	}
	if token != "" {
		req.Header.Set("X-Phoenix-Longpoll-Token", token)
	}
	if c.cfg.authToken != "" {
		req.Header.Set("X-Phoenix-AuthToken", c.cfg.authToken)
	}
	res, err := c.cfg.httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	var out lpResponse
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("client: long-poll response (HTTP %d) is not JSON: %w", res.StatusCode, err)
	}
	return &out, nil
}
