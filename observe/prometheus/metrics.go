package prometheus

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/presence"
)

// Options configure [New]. Zero fields take the defaults.
type Options struct {
	// Namespace prefixes every metric name (default "seance").
	Namespace string
	// DurationBuckets are the join and event duration histogram buckets in
	// seconds (default 0.5 ms to 5 s).
	DurationBuckets []float64
}

var (
	defaultDurationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
)

func (o *Options) setDefaults() {
	if o.Namespace == "" {
		o.Namespace = "seance"
	}
	if len(o.DurationBuckets) == 0 {
		o.DurationBuckets = defaultDurationBuckets
	}
}

// Metrics is a prometheus.Collector of a Seance server's figures. Give
// [Metrics.Observer] to the endpoint (phx.Config.Observer) and register
// the Metrics with a prometheus.Registerer. Its labels are the transport,
// the route pattern ("room:*") and a reason from a fixed set: never a
// topic, a user or a token.
type Metrics struct {
	opts Options

	connsOpened, connsClosed                 *prometheus.CounterVec
	connsGauge                               *prometheus.GaugeVec
	framesIn, bytesIn, framesOut, bytesOut   *prometheus.Desc
	batches                                  *prometheus.Desc
	droppedFrames, droppedBytes              *prometheus.CounterVec
	joins, events, ends                      *prometheus.CounterVec
	joinDur, eventDur                        *prometheus.HistogramVec
	channels                                 *prometheus.GaugeVec
	stateSent, stateBytes                    *prometheus.CounterVec
	collectors                               []prometheus.Collector
	ws, lp                                   *transportMetrics // the built-in transports, resolved up front
	transports                               atomic.Pointer[map[string]*transportMetrics]
	patterns                                 atomic.Pointer[map[string]*patternMetrics]
	states                                   atomic.Pointer[map[string]*stateMetrics]
	cmu                                      sync.Mutex // serializes copies of transports, patterns and states
	endpoints, longpolls, trackers           watched
	psPublished, psErrors, psDropped, psRecv *prometheus.Desc
	psQueued, psPending, psSubErrors         *prometheus.Desc
	psJoinWaits                              *prometheus.Desc
	lpSessions                               *prometheus.Desc
	presTopics, presMetas, presLocal         *prometheus.Desc
}

// transportMetrics holds the per-frame counts of one transport: plain
// atomic counters, read at scrape time, so that the frame path costs a few
// atomic adds and no label lookup.
type transportMetrics struct {
	name                                   string
	framesIn, bytesIn, framesOut, bytesOut atomic.Uint64
	batches                                atomic.Uint64
}

// patternMetrics holds the per-event series of one route pattern and
// transport, resolved once.
type patternMetrics struct {
	joinOK, joinRefused, joinCrashed  prometheus.Counter
	eventOK, eventError, eventCrashed prometheus.Counter
	joinDur, eventDur                 prometheus.Observer
	channels                          prometheus.Gauge
}

// stateMetrics holds the LiveState series of one route pattern, resolved
// once: StateSent runs for every state a channel sends.
type stateMetrics struct {
	full, patch           prometheus.Counter
	fullBytes, patchBytes prometheus.Counter
}

// watched is a list of values read at scrape time.
type watched struct {
	mu   sync.Mutex
	list []any
}

func (w *watched) add(v any) {
	w.mu.Lock()
	w.list = append(w.list, v)
	w.mu.Unlock()
}

func (w *watched) all() []any {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]any(nil), w.list...)
}

// New returns the metrics; register them with a prometheus.Registerer.
func New(opts Options) *Metrics {
	opts.setDefaults()
	ns := opts.Namespace
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help}, labels)
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: name, Help: help}, labels)
	}
	hist := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: name, Help: help, Buckets: buckets}, labels)
	}
	trDesc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, "", name), help, []string{"transport"}, nil)
	}
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, "", name), help, []string{"node"}, nil)
	}
	m := &Metrics{
		opts:          opts,
		connsOpened:   counter("connections_opened_total", "Connections opened, by transport.", "transport"),
		connsClosed:   counter("connections_closed_total", "Connections closed, by transport and reason (disconnected, idle, shutdown, slow_consumer, invalid_data, too_big, other).", "transport", "reason"),
		connsGauge:    gauge("connections", "Open connections, by transport.", "transport"),
		framesIn:      trDesc("frames_in_total", "Frames received from clients."),
		bytesIn:       trDesc("bytes_in_total", "Bytes of the frames received from clients."),
		framesOut:     trDesc("frames_out_total", "Frames handed to the transport for clients."),
		bytesOut:      trDesc("bytes_out_total", "Bytes of the frames handed to the transport for clients."),
		batches:       trDesc("outbound_batches_total", "Times the transport drained the outbound queue: frames_out_total / outbound_batches_total is the mean queue length when drained."),
		droppedFrames: counter("queue_dropped_frames_total", "Frames dropped with a slow consumer's outbound queue.", "transport"),
		droppedBytes:  counter("queue_dropped_bytes_total", "Bytes dropped with a slow consumer's outbound queue.", "transport"),
		joins:         counter("joins_total", "Joins answered, by route pattern, transport and result (ok, refused, crashed).", "pattern", "transport", "result"),
		joinDur:       hist("join_duration_seconds", "Time spent in BeforeJoin and Join, by route pattern.", opts.DurationBuckets, "pattern"),
		events:        counter("events_total", "Client events handled, by route pattern, transport and result (ok, error, crashed).", "pattern", "transport", "result"),
		eventDur:      hist("event_duration_seconds", "Time spent in HandleIn, by route pattern.", opts.DurationBuckets, "pattern"),
		channels:      gauge("channels", "Joined channels, by route pattern.", "pattern"),
		ends:          counter("channel_ends_total", "Channels ended, by route pattern and reason (left, disconnected, duplicate_join, shutdown, server_close, crashed, slow_consumer).", "pattern", "reason"),
		stateSent:     counter("state_sent_total", "LiveState updates sent, by route pattern and kind (full, patch); a shared state's update counts once.", "pattern", "kind"),
		stateBytes:    counter("state_sent_bytes_total", "Payload bytes of the LiveState updates sent, by route pattern and kind.", "pattern", "kind"),
		psPublished:   desc("pubsub_published_total", "Broadcasts the PubSub adapter accepted."),
		psErrors:      desc("pubsub_publish_errors_total", "Broadcasts the PubSub adapter failed to send (lost)."),
		psDropped:     desc("pubsub_dropped_total", "Broadcasts never handed to the PubSub adapter (publish queue full, or shutdown)."),
		psRecv:        desc("pubsub_received_total", "Broadcasts received from other nodes."),
		psQueued:      desc("pubsub_queued", "Broadcasts waiting in the publish queue."),
		psPending:     desc("pubsub_pending_topics", "Topics whose subscription the adapter has not confirmed yet."),
		psSubErrors:   desc("pubsub_subscribe_errors_total", "Failed Subscribe and Unsubscribe calls (retried)."),
		psJoinWaits:   desc("pubsub_join_waits_expired_total", "Join replies sent after waiting JoinAwaitsSubscription in full, the subscription unconfirmed."),
		lpSessions:    prometheus.NewDesc(prometheus.BuildFQName(ns, "", "longpoll_sessions"), "Live long-poll sessions.", nil, nil),
		presTopics:    desc("presence_topics", "Topics listing at least one presence."),
		presMetas:     desc("presence_metas", "Presence metas listed, other nodes' included."),
		presLocal:     desc("presence_local_metas", "Presence metas tracked by this node's channels."),
	}
	m.collectors = []prometheus.Collector{
		m.connsOpened, m.connsClosed, m.connsGauge,
		m.droppedFrames, m.droppedBytes, m.joins, m.joinDur, m.events, m.eventDur, m.channels, m.ends,
		m.stateSent, m.stateBytes,
	}
	m.transports.Store(&map[string]*transportMetrics{})
	m.patterns.Store(&map[string]*patternMetrics{})
	m.states.Store(&map[string]*stateMetrics{})
	m.ws, m.lp = m.newTransport("websocket"), m.newTransport("longpoll")
	return m
}

// lookup returns *p[key], made by mk and stored in a copy of the map when
// missing: the hot path reads without locks, label sets being bounded.
func lookup[V any](mu *sync.Mutex, p *atomic.Pointer[map[string]*V], key string, mk func() *V) *V {
	if v := (*p.Load())[key]; v != nil {
		return v
	}
	mu.Lock()
	defer mu.Unlock()
	old := *p.Load()
	if v := old[key]; v != nil {
		return v
	}
	v := mk()
	next := make(map[string]*V, len(old)+1)
	for k, x := range old {
		next[k] = x
	}
	next[key] = v
	p.Store(&next)
	return v
}

// pattern returns the resolved series of a pattern and transport.
func (m *Metrics) pattern(pattern, tr string) *patternMetrics {
	var buf [128]byte
	key := append(append(append(buf[:0], pattern...), 0), tr...)
	if p := (*m.patterns.Load())[string(key)]; p != nil { // no allocation
		return p
	}
	return lookup(&m.cmu, &m.patterns, string(key), func() *patternMetrics {
		return &patternMetrics{
			joinOK:       m.joins.WithLabelValues(pattern, tr, "ok"),
			joinRefused:  m.joins.WithLabelValues(pattern, tr, "refused"),
			joinCrashed:  m.joins.WithLabelValues(pattern, tr, "crashed"),
			eventOK:      m.events.WithLabelValues(pattern, tr, "ok"),
			eventError:   m.events.WithLabelValues(pattern, tr, "error"),
			eventCrashed: m.events.WithLabelValues(pattern, tr, "crashed"),
			joinDur:      m.joinDur.WithLabelValues(pattern),
			eventDur:     m.eventDur.WithLabelValues(pattern),
			channels:     m.channels.WithLabelValues(pattern),
		}
	})
}

// transport returns the resolved series of transport tr.
func (m *Metrics) transport(tr string) *transportMetrics {
	switch tr {
	case "websocket":
		return m.ws
	case "longpoll":
		return m.lp
	}
	return lookup(&m.cmu, &m.transports, tr, func() *transportMetrics { return m.newTransport(tr) })
}

func (m *Metrics) newTransport(tr string) *transportMetrics { return &transportMetrics{name: tr} }

// Observer returns the phx.Observer feeding these metrics. Combine it with
// others with phx.Observers.
func (m *Metrics) Observer() *phx.Observer {
	return &phx.Observer{
		ConnOpened: func(tr string) {
			m.connsOpened.WithLabelValues(tr).Inc()
			m.connsGauge.WithLabelValues(tr).Inc()
		},
		ConnClosed: func(tr, reason string) {
			m.connsClosed.WithLabelValues(tr, reason).Inc()
			m.connsGauge.WithLabelValues(tr).Dec()
		},
		FrameIn: func(tr string, n int) {
			t := m.transport(tr)
			t.framesIn.Add(1)
			t.bytesIn.Add(uint64(n))
		},
		FramesOut: func(tr string, frames, n int) {
			t := m.transport(tr)
			t.framesOut.Add(uint64(frames))
			t.bytesOut.Add(uint64(n))
			t.batches.Add(1)
		},
		QueueDropped: func(tr string, frames, n int) {
			m.droppedFrames.WithLabelValues(tr).Add(float64(frames))
			m.droppedBytes.WithLabelValues(tr).Add(float64(n))
		},
		JoinDone: func(_ context.Context, e phx.EventInfo) {
			p := m.pattern(e.Pattern, e.Transport)
			switch {
			case e.Crashed:
				p.joinCrashed.Inc()
			case e.Err != nil:
				p.joinRefused.Inc()
			default:
				p.joinOK.Inc()
				p.channels.Inc()
			}
			p.joinDur.Observe(e.Duration.Seconds())
		},
		EventDone: func(_ context.Context, e phx.EventInfo) {
			p := m.pattern(e.Pattern, e.Transport)
			switch {
			case e.Crashed:
				p.eventCrashed.Inc()
			case e.Err != nil:
				p.eventError.Inc()
			default:
				p.eventOK.Inc()
			}
			p.eventDur.Observe(e.Duration.Seconds())
		},
		ChannelEnded: func(pattern, tr, reason string) {
			m.pattern(pattern, tr).channels.Dec()
			m.ends.WithLabelValues(pattern, reason).Inc()
		},
		StateSent: func(pattern string, full bool, n int) {
			st := lookup(&m.cmu, &m.states, pattern, func() *stateMetrics {
				return &stateMetrics{
					full: m.stateSent.WithLabelValues(pattern, "full"), fullBytes: m.stateBytes.WithLabelValues(pattern, "full"),
					patch: m.stateSent.WithLabelValues(pattern, "patch"), patchBytes: m.stateBytes.WithLabelValues(pattern, "patch"),
				}
			})
			if full {
				st.full.Inc()
				st.fullBytes.Add(float64(n))
				return
			}
			st.patch.Inc()
			st.patchBytes.Add(float64(n))
		},
	}
}

// WatchEndpoint adds the endpoint's PubSub figures (phx.PubSubStats,
// labelled by node name; endpoints of one node name summed) to every
// scrape.
func (m *Metrics) WatchEndpoint(ep *phx.Endpoint) { m.endpoints.add(ep) }

// SessionCounter is what [Metrics.WatchLongPoll] reads: a
// *longpoll.Handler.
type SessionCounter interface{ Sessions() int }

// WatchLongPoll adds the long-poll handler's live session count to every
// scrape (summed over the handlers watched).
func (m *Metrics) WatchLongPoll(h SessionCounter) { m.longpolls.add(h) }

// WatchPresence adds the tracker's totals (presence.Tracker.Stats) to
// every scrape, labelled by the node name of its endpoint.
func (m *Metrics) WatchPresence(t *presence.Tracker, ep *phx.Endpoint) {
	m.trackers.add(trackerOf{t, ep})
}

type trackerOf struct {
	t  *presence.Tracker
	ep *phx.Endpoint
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors {
		c.Describe(ch)
	}
	for _, d := range []*prometheus.Desc{m.framesIn, m.bytesIn, m.framesOut, m.bytesOut, m.batches, m.psPublished, m.psErrors, m.psDropped, m.psRecv, m.psQueued,
		m.psPending, m.psSubErrors, m.psJoinWaits, m.lpSessions, m.presTopics, m.presMetas, m.presLocal} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors {
		c.Collect(ch)
	}
	trs := []*transportMetrics{m.ws, m.lp}
	for _, t := range *m.transports.Load() {
		trs = append(trs, t)
	}
	for _, t := range trs {
		if t.framesIn.Load() == 0 && t.framesOut.Load() == 0 {
			continue // a transport not in use
		}
		for _, c := range []struct {
			d *prometheus.Desc
			v *atomic.Uint64
		}{{m.framesIn, &t.framesIn}, {m.bytesIn, &t.bytesIn}, {m.framesOut, &t.framesOut}, {m.bytesOut, &t.bytesOut}, {m.batches, &t.batches}} {
			ch <- prometheus.MustNewConstMetric(c.d, prometheus.CounterValue, float64(c.v.Load()), t.name)
		}
	}
	// Endpoints of one node (same node name) are summed: a series is
	// collected once.
	ps := map[string]*phx.PubSubStats{}
	var nodes []string
	for _, v := range m.endpoints.all() {
		ep := v.(*phx.Endpoint)
		st, node := ep.PubSubStats(), ep.NodeName()
		sum := ps[node]
		if sum == nil {
			sum = &phx.PubSubStats{}
			ps[node] = sum
			nodes = append(nodes, node)
		}
		sum.Published += st.Published
		sum.PublishErrors += st.PublishErrors
		sum.Dropped += st.Dropped
		sum.Received += st.Received
		sum.SubscribeErrors += st.SubscribeErrors
		sum.JoinWaitsExpired += st.JoinWaitsExpired
		sum.Queued += st.Queued
		sum.Pending += st.Pending
	}
	for _, node := range nodes {
		st := ps[node]
		counter := func(d *prometheus.Desc, v uint64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), node)
		}
		gauge := func(d *prometheus.Desc, v int) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), node)
		}
		counter(m.psPublished, st.Published)
		counter(m.psErrors, st.PublishErrors)
		counter(m.psDropped, st.Dropped)
		counter(m.psRecv, st.Received)
		counter(m.psSubErrors, st.SubscribeErrors)
		counter(m.psJoinWaits, st.JoinWaitsExpired)
		gauge(m.psQueued, st.Queued)
		gauge(m.psPending, st.Pending)
	}
	if lps := m.longpolls.all(); len(lps) > 0 {
		n := 0
		for _, v := range lps {
			n += v.(SessionCounter).Sessions()
		}
		ch <- prometheus.MustNewConstMetric(m.lpSessions, prometheus.GaugeValue, float64(n))
	}
	pres := map[string]*presence.Stats{}
	nodes = nodes[:0]
	for _, v := range m.trackers.all() {
		to := v.(trackerOf)
		st, node := to.t.Stats(), to.ep.NodeName()
		sum := pres[node]
		if sum == nil {
			sum = &presence.Stats{}
			pres[node] = sum
			nodes = append(nodes, node)
		}
		sum.Topics += st.Topics
		sum.Metas += st.Metas
		sum.Local += st.Local
	}
	for _, node := range nodes {
		st := pres[node]
		ch <- prometheus.MustNewConstMetric(m.presTopics, prometheus.GaugeValue, float64(st.Topics), node)
		ch <- prometheus.MustNewConstMetric(m.presMetas, prometheus.GaugeValue, float64(st.Metas), node)
		ch <- prometheus.MustNewConstMetric(m.presLocal, prometheus.GaugeValue, float64(st.Local), node)
	}
}
