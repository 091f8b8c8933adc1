package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/seance-go/seance/bench/internal/proto"
)

// LongPollConfig configures the long-poll run.
type LongPollConfig struct {
	Addr     string
	Sessions int
	Dur      time.Duration // exchange phase
	Think    time.Duration // mean pause between a session's events (uniform ±50%)
	Topic    string        // default counter:lp
}

// LongPollResult is the outcome of the long-poll run. Latency is from the
// POST of an event until the held GET delivered the state update: time
// beyond the poll wait.
type LongPollResult struct {
	Skipped   string  `json:"skipped,omitempty"`
	Sessions  int     `json:"sessions"`
	Joined    int     `json:"joined"`
	Lost      int     `json:"lost"`
	Events    int     `json:"events"`
	EventsSec float64 `json:"events_per_sec"`
	Latency   Latency `json:"latency"`
	Errors    Errors  `json:"errors"`
}

// ErrLongPollUnavailable is returned by the probe when the server does not
// open long-poll sessions.
var ErrLongPollUnavailable = errors.New("long-poll not available")

type lpReply struct {
	Status   int      `json:"status"`
	Token    string   `json:"token"`
	Messages []string `json:"messages"`
}

type lpSession struct {
	hc    *http.Client
	url   string
	token string
	msgs  chan string
	lost  chan struct{}
	once  sync.Once
	why   error
}

func (s *lpSession) markLost(err error) {
	s.once.Do(func() {
		s.why = err
		close(s.lost)
	})
}

func (s *lpSession) do(ctx context.Context, method string, body []byte) (lpReply, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.url, bytes.NewReader(body))
	if err != nil {
		return lpReply{}, err
	}
	if s.token != "" {
		req.Header.Set("X-Phoenix-Longpoll-Token", s.token)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-ndjson")
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return lpReply{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return lpReply{}, err
	}
	var r lpReply
	if err := json.Unmarshal(data, &r); err != nil {
		return lpReply{}, fmt.Errorf("long-poll answer %q: %w", data, err)
	}
	return r, nil
}

func (s *lpSession) poll(ctx context.Context) {
	for ctx.Err() == nil {
		r, err := s.do(ctx, http.MethodGet, nil)
		if err != nil {
			if ctx.Err() == nil {
				s.markLost(fmt.Errorf("poll: %w", err))
			}
			return
		}
		switch r.Status {
		case 200:
			for _, m := range r.Messages {
				select {
				case s.msgs <- m:
				case <-ctx.Done():
					return
				}
			}
		case 204:
		default:
			s.markLost(fmt.Errorf("poll answered status %d", r.Status))
			return
		}
	}
}

// await waits for a frame whose event is in want.
func (s *lpSession) await(ctx context.Context, timeout time.Duration, want ...string) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case m := <-s.msgs:
			ev := proto.EventOf([]byte(m))
			for _, w := range want {
				if ev == w {
					return nil
				}
			}
		case <-s.lost:
			return s.why
		case <-t.C:
			return fmt.Errorf("no %v within %v", want, timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// LongPoll opens Sessions long-poll sessions joined to a LiveState topic;
// each then pushes events with a think time for Dur and waits for the state
// update on its held GET.
func LongPoll(ctx context.Context, cfg LongPollConfig) LongPollResult {
	if cfg.Topic == "" {
		cfg.Topic = "counter:lp"
	}
	res := LongPollResult{Sessions: cfg.Sessions}
	tr := &http.Transport{MaxIdleConns: 0, MaxIdleConnsPerHost: 2*cfg.Sessions + 16, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	url := "http://" + cfg.Addr + "/socket/longpoll?vsn=2.0.0"
	probe := &lpSession{hc: hc, url: url}
	// The probe's session is left to the server's reaper.
	if r, err := probe.do(ctx, http.MethodGet, nil); err != nil || r.Status != 410 || r.Token == "" {
		res.Skipped = ErrLongPollUnavailable.Error()
		return res
	}
	pctx, stopPolls := context.WithCancel(ctx)
	var pollers sync.WaitGroup
	defer func() {
		stopPolls()
		pollers.Wait()
	}()
	sessions := make([]*lpSession, cfg.Sessions)
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	for i := range sessions {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s := &lpSession{hc: hc, url: url, msgs: make(chan string, 64), lost: make(chan struct{})}
			err := func() error {
				r, err := s.do(ctx, http.MethodGet, nil)
				if err != nil {
					return err
				}
				if r.Status != 410 {
					return fmt.Errorf("open answered %d", r.Status)
				}
				s.token = r.Token
				pollers.Add(1)
				go func() {
					defer pollers.Done()
					s.poll(pctx)
				}()
				r, err = s.do(ctx, http.MethodPost, proto.Frame("1", "1", cfg.Topic, "phx_join", nil))
				if err != nil {
					return err
				}
				if r.Status != 200 {
					return fmt.Errorf("join POST answered %d", r.Status)
				}
				return s.await(ctx, 30*time.Second, "state:change")
			}()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Errors.Add(fmt.Errorf("join: %w", err))
				return
			}
			sessions[i] = s
			res.Joined++
		}()
	}
	wg.Wait()
	end := time.Now().Add(cfg.Dur)
	lats := make([][]time.Duration, len(sessions))
	lost := make([]bool, len(sessions))
	errs := make([]Errors, len(sessions))
	for i, s := range sessions {
		if s == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ref := 1
			for {
				pause := time.Duration(float64(cfg.Think) * (0.5 + rand.Float64()))
				if time.Now().Add(pause).After(end) {
					return
				}
				select {
				case <-time.After(pause):
				case <-s.lost:
					lost[i] = true
					errs[i].Add(s.why)
					return
				case <-ctx.Done():
					return
				}
				ref++
				t0 := time.Now()
				r, err := s.do(ctx, http.MethodPost, proto.Frame("1", strconv.Itoa(ref), cfg.Topic, "lvs_evt:increment", nil))
				if err == nil && r.Status != 200 {
					err = fmt.Errorf("event POST answered %d", r.Status)
				}
				if err == nil {
					err = s.await(ctx, 30*time.Second, "state:patch", "state:change")
				}
				if err != nil {
					lost[i] = true
					errs[i].Add(err)
					return
				}
				lats[i] = append(lats[i], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	var all []time.Duration
	for i := range sessions {
		all = append(all, lats[i]...)
		if lost[i] {
			res.Lost++
		}
		res.Errors.Merge(errs[i])
	}
	res.Lost += cfg.Sessions - res.Joined
	res.Events = len(all)
	res.EventsSec = float64(len(all)) / cfg.Dur.Seconds()
	res.Latency = Summarize(all)
	return res
}
