package load

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/bench/internal/sysinfo"
	"github.com/seance-go/seance/client"
)

// HoldConfig configures the client-side memory run: this process holds
// Conns idle joined sockets.
type HoldConfig struct {
	Addr        string
	Kind        string // "client" (package client) or "gorilla" (raw client, one reader goroutine each)
	Conns       int
	Topic       string // default room:idle
	Concurrency int    // default 32
}

// HoldResult reports the load process's own memory before and after.
type HoldResult struct {
	Event   string          `json:"event"`
	Kind    string          `json:"kind"`
	Conns   int             `json:"conns"`
	Seconds float64         `json:"seconds"`
	Before  sysinfo.Runtime `json:"before"`
	After   sysinfo.Runtime `json:"after"`
	Errors  Errors          `json:"errors"`
}

// Holder keeps the sockets of a hold run alive.
type Holder struct {
	sockets []*client.Socket
	conns   []*websocket.Conn
	readers sync.WaitGroup
}

// Hold opens and joins cfg.Conns sockets and keeps them.
func Hold(ctx context.Context, cfg HoldConfig) (*Holder, HoldResult) {
	if cfg.Topic == "" {
		cfg.Topic = "room:idle"
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 32
	}
	res := HoldResult{Event: "holding", Kind: cfg.Kind}
	res.Before = sysinfo.ReadRuntime(true)
	h := &Holder{}
	start := time.Now()
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, cfg.Concurrency)
	for range cfg.Conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			switch cfg.Kind {
			case "client":
				s, err := client.Dial(cctx, "ws://"+cfg.Addr+"/socket", nil)
				if err == nil {
					_, _, err = s.Join(cctx, cfg.Topic, nil)
					if err != nil {
						s.Close()
					}
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					res.Errors.Add(err)
					return
				}
				h.sockets = append(h.sockets, s)
			default:
				c, err := DialWS(cctx, cfg.Addr, "ours", nil)
				if err == nil {
					err = JoinWS(c, "ours", cfg.Topic, false, 60*time.Second)
					if err != nil {
						c.Close()
					}
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					res.Errors.Add(err)
					return
				}
				h.conns = append(h.conns, c)
				h.readers.Add(1)
				go func() {
					defer h.readers.Done()
					for {
						if _, _, err := c.ReadMessage(); err != nil {
							return
						}
					}
				}()
			}
		}()
	}
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	res.Conns = len(h.sockets) + len(h.conns)
	res.After = sysinfo.ReadRuntime(true)
	if res.Conns < cfg.Conns && res.Errors.Count == 0 {
		res.Errors.Add(fmt.Errorf("%d of %d sockets opened", res.Conns, cfg.Conns))
	}
	return h, res
}

// Close closes every socket.
func (h *Holder) Close() {
	var wg sync.WaitGroup
	for _, s := range h.sockets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Close()
		}()
	}
	wg.Wait()
	for _, c := range h.conns {
		c.Close()
	}
	h.readers.Wait()
}
