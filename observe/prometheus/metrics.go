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
	// BatchBuckets are the buckets of the outbound batch histogram, in
	// frames (default 1, 2, 4 … 1024: the default queue length).
	BatchBuckets []float64
}

var (
	defaultDurationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
	defaultBatchBuckets    = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}
)

func (o *Options) setDefaults() {
	if o.Namespace == "" {
		o.Namespace = "seance"
	}
	if len(o.DurationBuckets) == 0 {
		o.DurationBuckets = defaultDurationBuckets
	}
	if len(o.BatchBuckets) == 0 {
		o.BatchBuckets = defaultBatchBuckets
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
	framesIn, bytesIn, framesOut, bytesOut   *prometheus.CounterVec
	batch                                    *prometheus.HistogramVec
	droppedFrames, droppedBytes              *prometheus.CounterVec
	joins, events, ends                      *prometheus.CounterVec
	joinDur, eventDur                        *prometheus.HistogramVec
	channels                                 *prometheus.GaugeVec
	stateSent, stateBytes                    *prometheus.CounterVec
	collectors                               []prometheus.Collector
	transports                               atomic.Pointer[map[string]*transportMetrics]
	tmu                                      sync.Mutex // serializes copies of transports
	endpoints, longpolls, trackers           watched
	psPublished, psErrors, psDropped, psRecv *prometheus.Desc
	psQueued, psPending, psSubErrors         *prometheus.Desc
	lpSessions                               *prometheus.Desc
	presTopics, presMetas, presLocal         *prometheus.Desc
}

// transportMetrics holds the per-frame series of one transport, resolved
// once: the frame path costs no label lookup.
type transportMetrics struct {
	framesIn, bytesIn, framesOut, bytesOut prometheus.Counter
	batch                                  prometheus.Observer
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
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, "", name), help, []string{"node"}, nil)
	}
	m := &Metrics{
		opts:          opts,
		connsOpened:   counter("connections_opened_total", "Connections opened, by transport.", "transport"),
		connsClosed:   counter("connections_closed_total", "Connections closed, by transport and reason (disconnected, idle, shutdown, slow_consumer, invalid_data, too_big, other).", "transport", "reason"),
		connsGauge:    gauge("connections", "Open connections, by transport.", "transport"),
		framesIn:      counter("frames_in_total", "Frames received from clients.", "transport"),
		bytesIn:       counter("bytes_in_total", "Bytes of the frames received from clients.", "transport"),
		framesOut:     counter("frames_out_total", "Frames handed to the transport for clients.", "transport"),
		bytesOut:      counter("bytes_out_total", "Bytes of the frames handed to the transport for clients.", "transport"),
		batch:         hist("outbound_batch_frames", "Outbound queue length when the transport drained it (frames written together).", opts.BatchBuckets, "transport"),
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
		lpSessions:    prometheus.NewDesc(prometheus.BuildFQName(ns, "", "longpoll_sessions"), "Live long-poll sessions.", nil, nil),
		presTopics:    desc("presence_topics", "Topics listing at least one presence."),
		presMetas:     desc("presence_metas", "Presence metas listed, other nodes' included."),
		presLocal:     desc("presence_local_metas", "Presence metas tracked by this node's channels."),
	}
	m.collectors = []prometheus.Collector{
		m.connsOpened, m.connsClosed, m.connsGauge, m.framesIn, m.bytesIn, m.framesOut, m.bytesOut, m.batch,
		m.droppedFrames, m.droppedBytes, m.joins, m.joinDur, m.events, m.eventDur, m.channels, m.ends,
		m.stateSent, m.stateBytes,
	}
	empty := map[string]*transportMetrics{}
	m.transports.Store(&empty)
	return m
}

// transport returns the resolved series of transport tr.
func (m *Metrics) transport(tr string) *transportMetrics {
	if t := (*m.transports.Load())[tr]; t != nil {
		return t
	}
	m.tmu.Lock()
	defer m.tmu.Unlock()
	old := *m.transports.Load()
	if t := old[tr]; t != nil {
		return t
	}
	t := &transportMetrics{
		framesIn: m.framesIn.WithLabelValues(tr), bytesIn: m.bytesIn.WithLabelValues(tr),
		framesOut: m.framesOut.WithLabelValues(tr), bytesOut: m.bytesOut.WithLabelValues(tr),
		batch: m.batch.WithLabelValues(tr),
	}
	next := make(map[string]*transportMetrics, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[tr] = t
	m.transports.Store(&next)
	return t
}

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
			t.framesIn.Inc()
			t.bytesIn.Add(float64(n))
		},
		FramesOut: func(tr string, frames, n int) {
			t := m.transport(tr)
			t.framesOut.Add(float64(frames))
			t.bytesOut.Add(float64(n))
			t.batch.Observe(float64(frames))
		},
		QueueDropped: func(tr string, frames, n int) {
			m.droppedFrames.WithLabelValues(tr).Add(float64(frames))
			m.droppedBytes.WithLabelValues(tr).Add(float64(n))
		},
		JoinDone: func(_ context.Context, e phx.EventInfo) {
			result := "ok"
			switch {
			case e.Crashed:
				result = "crashed"
			case e.Err != nil:
				result = "refused"
			default:
				m.channels.WithLabelValues(e.Pattern).Inc()
			}
			m.joins.WithLabelValues(e.Pattern, e.Transport, result).Inc()
			m.joinDur.WithLabelValues(e.Pattern).Observe(e.Duration.Seconds())
		},
		EventDone: func(_ context.Context, e phx.EventInfo) {
			result := "ok"
			switch {
			case e.Crashed:
				result = "crashed"
			case e.Err != nil:
				result = "error"
			}
			m.events.WithLabelValues(e.Pattern, e.Transport, result).Inc()
			m.eventDur.WithLabelValues(e.Pattern).Observe(e.Duration.Seconds())
		},
		ChannelEnded: func(pattern, _, reason string) {
			m.channels.WithLabelValues(pattern).Dec()
			m.ends.WithLabelValues(pattern, reason).Inc()
		},
		StateSent: func(pattern string, full bool, n int) {
			kind := "patch"
			if full {
				kind = "full"
			}
			m.stateSent.WithLabelValues(pattern, kind).Inc()
			m.stateBytes.WithLabelValues(pattern, kind).Add(float64(n))
		},
	}
}

// WatchEndpoint adds the endpoint's PubSub figures (phx.PubSubStats,
// labelled by node name) to every scrape.
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
	for _, d := range []*prometheus.Desc{m.psPublished, m.psErrors, m.psDropped, m.psRecv, m.psQueued,
		m.psPending, m.psSubErrors, m.lpSessions, m.presTopics, m.presMetas, m.presLocal} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors {
		c.Collect(ch)
	}
	for _, v := range m.endpoints.all() {
		ep := v.(*phx.Endpoint)
		st, node := ep.PubSubStats(), ep.NodeName()
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
	for _, v := range m.trackers.all() {
		to := v.(trackerOf)
		st, node := to.t.Stats(), to.ep.NodeName()
		ch <- prometheus.MustNewConstMetric(m.presTopics, prometheus.GaugeValue, float64(st.Topics), node)
		ch <- prometheus.MustNewConstMetric(m.presMetas, prometheus.GaugeValue, float64(st.Metas), node)
		ch <- prometheus.MustNewConstMetric(m.presLocal, prometheus.GaugeValue, float64(st.Local), node)
	}
}
