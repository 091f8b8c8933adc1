package client

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// outFrame is an encoded frame waiting to be written.
type outFrame struct {
	data   []byte
	binary bool
}

// conn is one open transport connection. Implementations report inbound
// frames and their own failure through a sink; send never blocks.
type conn interface {
	// send queues frames for writing, in order.
	send(frames []outFrame)
	// close tears the connection down and waits for its goroutines.
	// It is idempotent.
	close()
	// heartbeats reports whether the socket should send heartbeats.
	heartbeats() bool
}

// dialConfig is everything a transport needs for one connection attempt.
type dialConfig struct {
	url         string
	header      http.Header
	authToken   string
	codec       codec
	log         *slog.Logger
	httpClient  *http.Client
	opts        *Options
	pollTimeout time.Duration
	sink        sink
}

// sink hands transport events to the socket loop, tagged with the
// connection generation so events of a dead connection are ignored.
type sink struct {
	s   *Socket
	gen uint64
}

// frame delivers an inbound frame; false means the connection is stopping.
func (k sink) frame(stop <-chan struct{}, f *frame) bool {
	return k.s.post(stop, func() { k.s.onFrame(k.gen, f) })
}

// down reports that the connection failed with err.
func (k sink) down(stop <-chan struct{}, err error) {
	k.s.post(stop, func() { k.s.onConnDown(k.gen, err) })
}

func dialTransport(ctx context.Context, cfg *dialConfig) (conn, error) {
	if cfg.opts.Transport == LongPoll {
		c, err := dialLongPoll(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	c, err := dialWebSocket(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return c, nil
}
