package inspector

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/seance-go/seance/cluster"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/presence"
)

// Options configure [New]. Zero fields take the defaults.
type Options struct {
	// Authorize decides whether a request may see the inspector; a non-nil
	// error refuses it (use handler.HTTPError for another status than 403).
	// Without it every request is refused.
	Authorize func(r *http.Request) error
	// Interval is how often the figures are sent (default 1 s).
	Interval time.Duration
	// Recent is how many recent crashes and slow consumers are kept
	// (default 20 each); older ones are forgotten.
	Recent int
	// MaxConnections is how many connections are listed one by one
	// (default 100); the counts cover them all.
	MaxConnections int
	// MaxTopics is how many topics the topics table lists, the busiest
	// first (default 100).
	MaxTopics int
	// IdentityLabel names a connection's identity (what the connect hook
	// attached) in the list; nil shows none, so that nothing about the
	// users is shown unless you choose to.
	IdentityLabel func(identity any) string
	// Cluster, when set (the cluster.Membership given to the watched
	// endpoint as its PubSub), makes the figures cluster-wide: each node's
	// inspector adds its node's figures to the membership heartbeats and
	// lists the other nodes' as they arrive (a node that goes down leaves
	// the list).
	Cluster *cluster.Membership
	// ClientModuleURL is where the page loads the phx-live-state ES module
	// from (default DefaultClientModuleURL, a CDN); serve it from your own
	// bundle to keep the page off third-party hosts. When it does not load
	// the page polls figures.json instead, and says so.
	ClientModuleURL string
	// Engine configures the inspector's own endpoint (its logger, limits).
	Engine phx.Config
}

const (
	defaultInterval = time.Second
	defaultRecent   = 20
	defaultMaxConns = 100
	defaultMaxTopic = 100
	// Topic is the inspector channel's topic.
	Topic = "inspector"
)

// ErrNotAuthorized refuses requests when Options.Authorize is nil.
var ErrNotAuthorized = errors.New("inspector: no Authorize function: every request is refused")

// Figures is the state the inspector channel streams.
type Figures struct {
	// Nodes are the figures of each endpoint watched, by node name.
	Nodes []Node `json:"nodes"`
	// Connections counts open connections by transport.
	Connections map[string]int `json:"connections"`
	// Channels counts joined channels by route pattern.
	Channels map[string]int `json:"channels"`
	// EventsPerSecond is the client events handled per second over the
	// last interval, by route pattern.
	EventsPerSecond map[string]float64 `json:"events_per_second"`
	// Presence is the totals of the trackers watched (WatchPresence),
	// summed; nil without any.
	Presence *presence.Stats `json:"presence,omitempty"`
	// Topics is the topics table: at most Options.MaxTopics topics, the
	// busiest first (events per second, then subscribers).
	Topics []TopicRow `json:"topics"`
	// Sessions lists connections of the watched endpoints, at most
	// Options.MaxConnections, by node then id.
	Sessions []Conn `json:"sessions"`
	// Crashes are the recent channel crashes, newest first.
	Crashes []Incident `json:"crashes"`
	// SlowConsumers are the recent slow-consumer disconnects, newest first.
	SlowConsumers []Incident `json:"slow_consumers"`
	// At is when the figures were taken.
	At time.Time `json:"at"`
}

// Node is one watched endpoint, or another node of the cluster.
type Node struct {
	Name     string          `json:"name"`
	Sessions int             `json:"sessions"`
	PubSub   phx.PubSubStats `json:"pubsub"`
	// Connections and Channels are the node's counts (see [Figures]).
	Connections map[string]int `json:"connections"`
	Channels    map[string]int `json:"channels"`
	// Topics is the node's busiest topics, carried by its heartbeats
	// (Options.Cluster) and merged into [Figures].Topics; empty in Figures.
	Topics []TopicRow `json:"topics,omitempty"`
	// Remote tells a node heard through the cluster from one watched here.
	Remote bool `json:"remote,omitempty"`
}

// service is the inspector's name among the membership's services.
const service = "seance:inspector"

// Conn is one connection.
type Conn struct {
	Node      string   `json:"node"`
	ID        string   `json:"id"`
	Transport string   `json:"transport"`
	Remote    string   `json:"remote"`
	Identity  string   `json:"identity,omitempty"`
	Topics    []string `json:"topics"`
	Queued    int      `json:"queued"`
}

// Incident is a crash or a slow consumer.
type Incident struct {
	At        time.Time `json:"at"`
	Pattern   string    `json:"pattern,omitempty"`
	Transport string    `json:"transport"`
	Detail    string    `json:"detail,omitempty"`
}

// Inspector collects figures and serves them. It is an http.Handler.
type Inspector struct {
	opts Options
	reg  *livestate.Registry
	http http.Handler

	mu       sync.Mutex
	conns    map[string]int
	channels map[string]int
	events   map[string]uint64 // since the last tick
	rates    map[string]float64
	// topicEvents counts events by topic since the last tick; its keys
	// stay while they count, so counting allocates only for a topic new
	// in the interval.
	topicEvents map[string]uint64
	topicRates  map[string]float64
	crashes     []Incident
	slow        []Incident
	endpoints   []*phx.Endpoint
	remote      map[string]Node // other nodes' figures, by node name
	trackers    []*presence.Tracker
	last        time.Time
	latest      *Figures // taken on the last tick with viewers; read-only

	stop chan struct{}
	done chan struct{}
}

// New returns an inspector; it starts sending figures at once and until
// Shutdown.
func New(opts Options) *Inspector {
	if opts.Interval <= 0 {
		opts.Interval = defaultInterval
	}
	if opts.Recent <= 0 {
		opts.Recent = defaultRecent
	}
	if opts.MaxConnections <= 0 {
		opts.MaxConnections = defaultMaxConns
	}
	if opts.ClientModuleURL == "" {
		opts.ClientModuleURL = DefaultClientModuleURL
	}
	if opts.MaxTopics <= 0 {
		opts.MaxTopics = defaultMaxTopic
	}
	in := &Inspector{opts: opts, conns: map[string]int{}, channels: map[string]int{}, events: map[string]uint64{},
		rates: map[string]float64{}, topicEvents: map[string]uint64{}, topicRates: map[string]float64{}, remote: map[string]Node{}, last: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	connect := func(r *http.Request, info *phx.ConnectInfo) error {
		if opts.Authorize == nil {
			return ErrNotAuthorized
		}
		return opts.Authorize(r)
	}
	in.reg = livestate.NewRegistry(livestate.Config{Engine: opts.Engine, Socket: handler.Options{Connect: connect}})
	in.reg.Handle(Topic, livestate.New(func() livestate.Channel[Figures] { return channel{in} }, livestate.Options{}))
	mux := http.NewServeMux()
	mux.Handle("/socket/", http.StripPrefix("/socket", livestate.Handler(in.reg)))
	authorized := func(w http.ResponseWriter, r *http.Request) bool {
		if err := connect(r, nil); err != nil {
			status := http.StatusForbidden
			var he *handler.HTTPError
			if errors.As(err, &he) && he.Status != 0 {
				status = he.Status
			}
			http.Error(w, http.StatusText(status), status)
			return false
		}
		return true
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if authorized(w, r) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			if err := page.Execute(w, opts.ClientModuleURL); err != nil {
				in.reg.Endpoint().Logger().Debug("inspector: page not sent", "error", err)
			}
		}
	})
	mux.HandleFunc("GET /figures.json", func(w http.ResponseWriter, r *http.Request) {
		if authorized(w, r) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(in.Figures())
		}
	})
	in.http = mux
	if opts.Cluster != nil {
		opts.Cluster.Register(service, &cluster.Service{
			Digest:    in.digest,
			Heartbeat: in.heard,
			Nodes: func(ev cluster.NodeEvent) {
				if !ev.Up {
					in.mu.Lock()
					delete(in.remote, ev.Node)
					in.mu.Unlock()
				}
			},
		})
	}
	go in.run()
	return in
}

// digest is this node's figures, carried by its heartbeats.
// It takes only the watched endpoints' counts, not the whole Figures (the
// sessions' list, the other nodes).
func (in *Inspector) digest() json.RawMessage {
	in.mu.Lock()
	conns, channels, rates := clone(in.conns), clone(in.channels), clone(in.topicRates)
	eps := append([]*phx.Endpoint(nil), in.endpoints...)
	trackers := append([]*presence.Tracker(nil), in.trackers...)
	in.mu.Unlock()
	var local []Node
	for _, ep := range eps {
		n := localNode(ep, conns, channels)
		n.Topics = in.localTopics(ep, rates, trackers)
		local = append(local, n)
	}
	sort.Slice(local, func(i, j int) bool { return local[i].Name < local[j].Name })
	data, err := json.Marshal(local)
	if err != nil {
		return nil
	}
	return data
}

// heard stores another node's figures from its heartbeat.
func (in *Inspector) heard(from string, digest json.RawMessage) {
	var nodes []Node
	if len(digest) == 0 || json.Unmarshal(digest, &nodes) != nil {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, n := range nodes {
		if n.Name != from {
			continue // a node speaks for itself only
		}
		n.Remote = true
		in.remote[from] = n
	}
}

// Authorize runs Options.Authorize on r ([ErrNotAuthorized] without it),
// for pages of your own that show the inspector's figures.
func (in *Inspector) Authorize(r *http.Request) error {
	if in.opts.Authorize == nil {
		return ErrNotAuthorized
	}
	return in.opts.Authorize(r)
}

// ServeHTTP serves the page at / and the inspector's socket at /socket.
func (in *Inspector) ServeHTTP(w http.ResponseWriter, r *http.Request) { in.http.ServeHTTP(w, r) }

// Watch adds an endpoint whose sessions and PubSub link the figures show.
func (in *Inspector) Watch(ep *phx.Endpoint) {
	in.mu.Lock()
	in.endpoints = append(in.endpoints, ep)
	in.mu.Unlock()
}

// WatchPresence adds a presence tracker's totals to the figures.
func (in *Inspector) WatchPresence(t *presence.Tracker) {
	in.mu.Lock()
	in.trackers = append(in.trackers, t)
	in.mu.Unlock()
}

// Observer returns the phx.Observer feeding the inspector; give it to the
// endpoints watched (combined with others by phx.Observers).
func (in *Inspector) Observer() *phx.Observer {
	return &phx.Observer{
		ConnOpened: func(tr string) { in.add(in.conns, tr, 1) },
		ConnClosed: func(tr, reason string) {
			in.add(in.conns, tr, -1)
			if reason == "slow_consumer" {
				in.incident(&in.slow, Incident{At: time.Now(), Transport: tr})
			}
		},
		JoinDone: func(_ context.Context, e phx.EventInfo) {
			if e.Err == nil {
				in.add(in.channels, e.Pattern, 1)
			}
		},
		ChannelEnded: func(pattern, tr, reason string) {
			in.add(in.channels, pattern, -1)
			if reason == "crashed" {
				in.incident(&in.crashes, Incident{At: time.Now(), Pattern: pattern, Transport: tr})
			}
		},
		EventDone: func(_ context.Context, e phx.EventInfo) {
			in.mu.Lock()
			in.events[e.Pattern]++
			if n, ok := in.topicEvents[e.Topic]; ok {
				in.topicEvents[e.Topic] = n + 1
			} else {
				in.topicEvents[strings.Clone(e.Topic)] = 1
			}
			in.mu.Unlock()
		},
	}
}

func (in *Inspector) add(m map[string]int, key string, d int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	m[key] += d
	if m[key] == 0 {
		delete(m, key)
	}
}

func (in *Inspector) incident(list *[]Incident, i Incident) {
	in.mu.Lock()
	defer in.mu.Unlock()
	*list = append([]Incident{i}, *list...)
	if len(*list) > in.opts.Recent {
		*list = (*list)[:in.opts.Recent]
	}
}

// run turns the counts into rates every Interval and, while someone has
// the inspector open, takes the figures once and tells the inspector
// channels, which all send them.
func (in *Inspector) run() {
	defer close(in.done)
	t := time.NewTicker(in.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-in.stop:
			return
		case <-t.C:
			in.tick()
			if in.reg.Endpoint().Sessions() == 0 {
				continue // nobody looks: take no figures
			}
			f := in.Figures()
			in.mu.Lock()
			in.latest = &f
			in.mu.Unlock()
			in.reg.Broadcast(context.Background(), Topic, "tick", nil)
		}
	}
}

// tick turns the event counts of the interval into rates.
func (in *Inspector) tick() {
	in.mu.Lock()
	defer in.mu.Unlock()
	now := time.Now()
	secs := now.Sub(in.last).Seconds()
	in.last = now
	in.rates = make(map[string]float64, len(in.events))
	for p, n := range in.events {
		in.rates[p] = float64(n) / secs
	}
	clear(in.events)
	in.topicRates = make(map[string]float64, len(in.topicEvents))
	for t, n := range in.topicEvents {
		if n == 0 {
			delete(in.topicEvents, t) // quiet for a whole interval
			continue
		}
		in.topicRates[t] = float64(n) / secs
		in.topicEvents[t] = 0
	}
}

// Figures returns the current figures.
func (in *Inspector) Figures() Figures {
	in.mu.Lock()
	f := Figures{
		Connections: clone(in.conns), Channels: clone(in.channels), EventsPerSecond: clone(in.rates),
		Crashes: append([]Incident{}, in.crashes...), SlowConsumers: append([]Incident{}, in.slow...),
		At: time.Now().UTC(),
	}
	eps := append([]*phx.Endpoint(nil), in.endpoints...)
	for _, n := range in.remote {
		f.Nodes = append(f.Nodes, n)
	}
	trackers := append([]*presence.Tracker(nil), in.trackers...)
	rates := clone(in.topicRates)
	in.mu.Unlock()
	for _, t := range trackers {
		if f.Presence == nil {
			f.Presence = &presence.Stats{}
		}
		st := t.Stats()
		f.Presence.Topics += st.Topics
		f.Presence.Metas += st.Metas
		f.Presence.Local += st.Local
	}
	f.Sessions = []Conn{}
	for _, ep := range eps {
		n := localNode(ep, f.Connections, f.Channels)
		n.Topics = in.localTopics(ep, rates, trackers)
		f.Nodes = append(f.Nodes, n)
		ep.EachSession(func(s *phx.Session) bool {
			if len(f.Sessions) >= in.opts.MaxConnections {
				return false
			}
			info := s.Info()
			c := Conn{Node: ep.NodeName(), ID: s.ID(), Transport: info.Transport, Remote: info.RemoteAddr, Topics: s.Topics(), Queued: s.Pending()}
			if in.opts.IdentityLabel != nil && info.Identity != nil {
				c.Identity = in.opts.IdentityLabel(info.Identity)
			}
			f.Sessions = append(f.Sessions, c)
			return true
		})
	}
	sort.Slice(f.Nodes, func(i, j int) bool { return f.Nodes[i].Name < f.Nodes[j].Name })
	f.Topics = mergeTopics(f.Nodes, in.opts.MaxTopics)
	sort.Slice(f.Sessions, func(i, j int) bool {
		a, b := f.Sessions[i], f.Sessions[j]
		if a.Node != b.Node {
			return a.Node < b.Node
		}
		if len(a.ID) != len(b.ID) {
			return len(a.ID) < len(b.ID)
		}
		return a.ID < b.ID
	})
	return f
}

// localNode is the figures of a watched endpoint.
func localNode(ep *phx.Endpoint, conns, channels map[string]int) Node {
	return Node{Name: ep.NodeName(), Sessions: ep.Sessions(), PubSub: ep.PubSubStats(), Connections: conns, Channels: channels}
}

func clone[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Shutdown stops sending figures and closes the inspector's connections.
func (in *Inspector) Shutdown(ctx context.Context) error {
	select {
	case <-in.stop:
	default:
		close(in.stop)
	}
	select {
	case <-in.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return in.reg.Shutdown(ctx)
}

// channel is the inspector's LiveState channel.
type channel struct{ in *Inspector }

func (c channel) Init(context.Context, *livestate.Socket, phx.Payload) (Figures, error) {
	return c.in.Figures(), nil
}

func (c channel) HandleEvent(context.Context, *livestate.Socket, string, phx.Payload, *Figures) error {
	return errors.New("inspector: read only")
}

// HandleMessage sends the figures of the tick (taken once for every
// viewer).
func (c channel) HandleMessage(_ context.Context, _ *livestate.Socket, _ any, st *Figures) error {
	c.in.mu.Lock()
	f := c.in.latest
	c.in.mu.Unlock()
	if f != nil {
		*st = *f
	}
	return nil
}
