package prometheus_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/longpoll"
	"github.com/seance-go/seance/observe/prometheus"
	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/presence"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitTimeout = 5 * time.Second

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Counter is a LiveState state.
type Counter struct {
	Count int `json:"count"`
}

type counterChannel struct{}

func (counterChannel) Init(context.Context, *livestate.Socket, phx.Payload) (Counter, error) {
	return Counter{}, nil
}

func (counterChannel) HandleEvent(_ context.Context, _ *livestate.Socket, event string, _ phx.Payload, st *Counter) error {
	st.Count++
	return nil
}

// server is a Seance server with both transports, presence and a /metrics
// endpoint scraped over HTTP.
type server struct {
	*httptest.Server
	ep *phx.Endpoint
	lp *longpoll.Handler
}

func newServer(t *testing.T) *server {
	t.Helper()
	return newServerWith(t, phx.Config{}, handler.Options{})
}

func newServerWith(t *testing.T, cfg phx.Config, hopts handler.Options) *server {
	t.Helper()
	m := prometheus.New(prometheus.Options{})
	cfg.Logger, cfg.Observer = quietLogger(), m.Observer()
	ep := phx.NewEndpoint(cfg)
	tr := presence.New(ep, presence.Options{Logger: quietLogger()})
	ep.Handle("room:*", phx.HandlerFuncs{
		JoinFunc: func(_ context.Context, ch *phx.Channel, _ phx.Payload) (any, error) {
			if ch.TopicParam() == "refused" {
				return nil, errors.New("no")
			}
			_, err := tr.Track(ch, ch.TopicParam(), nil)
			return nil, err
		},
		InFunc: func(_ context.Context, ch *phx.Channel, msg *phx.Message) (*phx.Reply, error) {
			switch msg.Event {
			case "fail":
				return nil, errors.New("failed")
			case "boom":
				panic("boom")
			}
			return phx.Ok(msg.Payload), nil
		},
	})
	ep.Handle("counter:*", livestate.New(func() livestate.Channel[Counter] { return counterChannel{} }, livestate.Options{}))
	lp := longpoll.New(ep, longpoll.Options{Logger: quietLogger()})
	hopts.LongPoll, hopts.Logger = lp, quietLogger()
	m.WatchEndpoint(ep)
	m.WatchLongPoll(lp)
	m.WatchPresence(tr, ep)
	reg := promclient.NewRegistry()
	reg.MustRegister(m)
	mux := http.NewServeMux()
	mux.Handle("/socket/", handler.New(ep, hopts))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	s := &server{Server: httptest.NewServer(mux), ep: ep, lp: lp}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := lp.Shutdown(ctx); err != nil {
			t.Errorf("long-poll Shutdown: %v", err)
		}
		if err := ep.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := tr.Close(ctx); err != nil {
			t.Errorf("presence Close: %v", err)
		}
		s.Close()
	})
	return s
}

// scrape fetches /metrics and returns each series ("name{labels}") with
// its value, and the body.
func (s *server) scrape(t *testing.T) (map[string]float64, string) {
	t.Helper()
	resp, err := s.Client().Get(s.URL + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %d %v\n%s", resp.StatusCode, err, body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("scrape line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out, string(body)
}

// waitSeries scrapes until every series in want has its value.
func (s *server) waitSeries(t *testing.T, want map[string]float64) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		got, body := s.scrape(t)
		bad := ""
		for k, v := range want {
			if got[k] != v {
				bad = fmt.Sprintf("%s = %v, want %v", k, got[k], v)
				break
			}
		}
		if bad == "" {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s; scrape:\n%s", bad, body)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func dial(t *testing.T, s *server) *websocket.Conn {
	t.Helper()
	url := "ws" + strings.TrimPrefix(s.URL, "http") + "/socket/websocket?vsn=2.0.0"
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// roundTrip sends a frame and reads until a frame of event whose ref (or
// topic, for pushes) is key.
func roundTrip(t *testing.T, conn *websocket.Conn, frame, event, key string) {
	t.Helper()
	if err := conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		t.Fatalf("write: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(waitTimeout))
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for %s %s: %v", event, key, err)
		}
		var f []any
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("frame %s: %v", data, err)
		}
		if f[3] == event && (f[1] == key || f[2] == key) {
			return
		}
	}
}

// longPoll makes one long-poll request and returns its status and token.
func longPoll(t *testing.T, s *server, method, token, body string) (int, string) {
	t.Helper()
	url := s.URL + "/socket/longpoll?vsn=2.0.0"
	if token != "" {
		url += "&token=" + token
	}
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("long poll: %v", err)
	}
	defer resp.Body.Close()
	var r struct {
		Status int
		Token  string
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("long poll reply: %v", err)
	}
	return r.Status, r.Token
}

func TestScrapeAfterSocketTraffic(t *testing.T) {
	s := newServer(t)
	ws := dial(t, s)
	roundTrip(t, ws, `["1","1","room:1","phx_join",{}]`, "phx_reply", "1")
	roundTrip(t, ws, `["2","2","room:2","phx_join",{}]`, "phx_reply", "2")
	roundTrip(t, ws, `["3","3","room:refused","phx_join",{}]`, "phx_reply", "3")
	roundTrip(t, ws, `["1","4","room:1","echo",{"a":1}]`, "phx_reply", "4")
	roundTrip(t, ws, `["1","5","room:1","fail",{}]`, "phx_reply", "5")
	roundTrip(t, ws, `["6","6","counter:1","phx_join",{}]`, "state:change", "counter:1")
	roundTrip(t, ws, `["6","7","counter:1","lvs_evt:inc",{}]`, "state:patch", "counter:1")
	roundTrip(t, ws, `["2","8","room:2","phx_leave",{}]`, "phx_close", "room:2")
	roundTrip(t, ws, `["1","9","room:1","boom",{}]`, "phx_error", "room:1")

	status, token := longPoll(t, s, "GET", "", "")
	if status != 410 || token == "" {
		t.Fatalf("long-poll open: %d %q", status, token)
	}
	if status, _ := longPoll(t, s, "POST", token, `["1","1","room:lp","phx_join",{}]`); status != 200 {
		t.Fatalf("long-poll send: %d", status)
	}
	if status, _ := longPoll(t, s, "GET", token, ""); status != 200 {
		t.Fatalf("long-poll poll: %d", status)
	}

	got := s.waitSeries(t, map[string]float64{
		`seance_connections{transport="websocket"}`:                                    1,
		`seance_connections{transport="longpoll"}`:                                     1,
		`seance_connections_opened_total{transport="websocket"}`:                       1,
		`seance_joins_total{pattern="room:*",result="ok",transport="websocket"}`:       2,
		`seance_joins_total{pattern="room:*",result="refused",transport="websocket"}`:  1,
		`seance_joins_total{pattern="counter:*",result="ok",transport="websocket"}`:    1,
		`seance_joins_total{pattern="room:*",result="ok",transport="longpoll"}`:        1,
		`seance_join_duration_seconds_count{pattern="room:*"}`:                         4,
		`seance_events_total{pattern="room:*",result="ok",transport="websocket"}`:      1,
		`seance_events_total{pattern="room:*",result="error",transport="websocket"}`:   1,
		`seance_events_total{pattern="room:*",result="crashed",transport="websocket"}`: 1,
		`seance_events_total{pattern="counter:*",result="ok",transport="websocket"}`:   1,
		`seance_event_duration_seconds_count{pattern="room:*"}`:                        3,
		`seance_channels{pattern="room:*"}`:                                            1, // room:lp
		`seance_channels{pattern="counter:*"}`:                                         1,
		`seance_channel_ends_total{pattern="room:*",reason="left"}`:                    1,
		`seance_channel_ends_total{pattern="room:*",reason="crashed"}`:                 1,
		`seance_state_sent_total{kind="full",pattern="counter:*"}`:                     1,
		`seance_state_sent_total{kind="patch",pattern="counter:*"}`:                    1,
		`seance_frames_in_total{transport="websocket"}`:                                9,
		`seance_frames_in_total{transport="longpoll"}`:                                 1,
		`seance_longpoll_sessions`:                                                     1,
		`seance_presence_metas{node=""}`:                                               1, // room:lp's
		`seance_presence_local_metas{node=""}`:                                         1,
		`seance_pubsub_published_total{node=""}`:                                       0,
	})
	if got[`seance_bytes_in_total{transport="websocket"}`] <= 0 || got[`seance_bytes_out_total{transport="websocket"}`] <= 0 ||
		got[`seance_frames_out_total{transport="websocket"}`] < 9 || got[`seance_outbound_batches_total{transport="websocket"}`] <= 0 {
		t.Errorf("frames and bytes out not counted: %v", got)
	}
	if got[`seance_state_sent_bytes_total{kind="full",pattern="counter:*"}`] <= 0 {
		t.Error("state bytes not counted")
	}

	// An ordinary disconnect.
	ws.Close()
	s.waitSeries(t, map[string]float64{
		`seance_connections{transport="websocket"}`:                                    0,
		`seance_connections_closed_total{reason="disconnected",transport="websocket"}`: 1,
		`seance_channels{pattern="counter:*"}`:                                         0,
		`seance_channel_ends_total{pattern="counter:*",reason="disconnected"}`:         1,
	})
	// Bounded labels: no topic, event name or parameter in any series.
	_, body := s.scrape(t)
	for _, leak := range []string{"room:1", "room:2", "room:lp", "room:refused", "counter:1", "lvs_evt", "echo", "boom"} {
		if strings.Contains(body, leak) {
			t.Errorf("the scrape names %q: labels must be patterns, never topics or events", leak)
		}
	}
}

func TestSlowConsumerAndIdleDisconnects(t *testing.T) {
	s := newServerWith(t, phx.Config{QueueLength: 8}, handler.Options{IdleTimeout: 2 * time.Second, CloseTimeout: 200 * time.Millisecond})
	slow := dial(t, s)
	roundTrip(t, slow, `["1","1","room:slow","phx_join",{}]`, "phx_reply", "1")
	idle := dial(t, s)
	_ = idle // sends nothing: closed after IdleTimeout (so is slow, if not first)
	// slow stops reading; broadcasts fill the socket buffers, then its queue.
	big := strings.Repeat("x", 64<<10)
	deadline := time.Now().Add(waitTimeout)
	for {
		for range 32 {
			s.ep.Broadcast(context.Background(), "room:slow", "big", map[string]string{"x": big})
		}
		got, _ := s.scrape(t)
		if got[`seance_channel_ends_total{pattern="room:*",reason="slow_consumer"}`] == 1 {
			break
		}
		if time.Now().After(deadline) {
			_, body := s.scrape(t)
			t.Fatalf("the slow consumer was never disconnected:\n%s", body)
		}
	}
	got := s.waitSeries(t, map[string]float64{
		`seance_connections_closed_total{reason="slow_consumer",transport="websocket"}`: 1,
		`seance_connections_closed_total{reason="idle",transport="websocket"}`:          1,
		`seance_channel_ends_total{pattern="room:*",reason="slow_consumer"}`:            1,
		`seance_connections{transport="websocket"}`:                                     0,
	})
	if got[`seance_queue_dropped_frames_total{transport="websocket"}`] < 8 || got[`seance_queue_dropped_bytes_total{transport="websocket"}`] < 8*64<<10 {
		t.Errorf("dropped queue not counted: %v", got)
	}
}

// TestTwoEndpointsOfOneNode: endpoints without PubSub share the node name
// "": their figures are summed, and the scrape does not fail on a
// duplicate series.
func TestTwoEndpointsOfOneNode(t *testing.T) {
	m := prometheus.New(prometheus.Options{})
	for range 2 {
		ep := phx.NewEndpoint(phx.Config{Logger: quietLogger()})
		t.Cleanup(func() { ep.Shutdown(context.Background()) })
		tr := presence.New(ep, presence.Options{Logger: quietLogger()})
		t.Cleanup(func() { tr.Close(context.Background()) })
		m.WatchEndpoint(ep)
		m.WatchPresence(tr, ep)
	}
	reg := promclient.NewRegistry()
	reg.MustRegister(m)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	n := 0
	for _, mf := range mfs {
		if mf.GetName() == "seance_pubsub_published_total" || mf.GetName() == "seance_presence_metas" {
			n += len(mf.GetMetric())
		}
	}
	if n != 2 {
		t.Errorf("%d series of published and presence metas, want one each", n)
	}
}

// hungPubSub is an adapter whose broker never confirms a subscription.
type hungPubSub struct{}

func (hungPubSub) NodeName() string { return "hung" }
func (hungPubSub) Subscribe(ctx context.Context, topic string) error {
	<-ctx.Done()
	return ctx.Err()
}
func (hungPubSub) Unsubscribe(ctx context.Context, topic string) error { return nil }
func (hungPubSub) Publish(ctx context.Context, m *phx.Envelope) error  { return nil }
func (hungPubSub) Run(ctx context.Context, deliver func(*phx.Envelope)) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestJoinWaitsExpired: a join reply sent after JoinAwaitsSubscription ran
// out is counted in seance_pubsub_join_waits_expired_total, and the topic
// in seance_pubsub_pending_topics.
func TestJoinWaitsExpired(t *testing.T) {
	m := prometheus.New(prometheus.Options{})
	ep := phx.NewEndpoint(phx.Config{Logger: quietLogger(), PubSub: hungPubSub{}, JoinAwaitsSubscription: 20 * time.Millisecond})
	ep.Handle("room:*", phx.HandlerFuncs{})
	m.WatchEndpoint(ep)
	sess, err := ep.Open(phx.ConnectInfo{Transport: "test"}, phx.V2JSON(), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Receive([]byte(`["1","1","room:a","phx_join",{}]`), false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	frames, err := sess.Next(ctx)
	if err != nil || len(frames) != 1 || !strings.Contains(string(frames[0].Data), `"phx_reply",{"status":"ok"`) {
		t.Fatalf("Next = %v, %v; want the join reply", frames, err)
	}
	reg := promclient.NewRegistry()
	reg.MustRegister(m)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			switch {
			case mt.GetCounter() != nil:
				got[mf.GetName()] = mt.GetCounter().GetValue()
			case mt.GetGauge() != nil:
				got[mf.GetName()] = mt.GetGauge().GetValue()
			}
		}
	}
	if got["seance_pubsub_join_waits_expired_total"] != 1 || got["seance_pubsub_pending_topics"] != 1 {
		t.Errorf("join waits expired %v, pending topics %v; want 1 and 1", got["seance_pubsub_join_waits_expired_total"], got["seance_pubsub_pending_topics"])
	}
	sess.Close(phx.ErrDisconnected)
	sess.Detach()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := ep.Shutdown(sctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}
