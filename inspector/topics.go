package inspector

import (
	"sort"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/presence"
)

// TopicRow is one row of the topics table.
type TopicRow struct {
	// Name is the topic ("room:42").
	Name string `json:"name"`
	// Pattern is the route pattern it matched ("room:*").
	Pattern string `json:"pattern"`
	// Subscribers is how many channels joined the topic, on every node.
	Subscribers int `json:"subscribers"`
	// Nodes is the subscribers by node name.
	Nodes map[string]int `json:"nodes"`
	// EventsPerSecond is the client events handled on the topic per second
	// over the last interval, on every node.
	EventsPerSecond float64 `json:"events_per_second"`
	// State is the version and size of the topic's state when it is a
	// shared LiveState topic (livestate.NewShared); nil otherwise (the
	// channels of livestate.New have a state per client).
	State *livestate.TopicState `json:"state,omitempty"`
	// Presence is how many presences the watched trackers list on the
	// topic (already cluster-wide: the trackers replicate).
	Presence int `json:"presence,omitempty"`
}

// localTopics is the topics table of a watched endpoint: its topics with
// subscribers or events, the busiest Options.MaxTopics of them. It walks
// the endpoint's sessions, so it runs when the figures are taken (a
// viewer's tick, figures.json, a cluster heartbeat), never per event.
// The rates it lists are taken out of rates, so that with several
// endpoints watched a topic's events count once.
func (in *Inspector) localTopics(ep *phx.Endpoint, rates map[string]float64, trackers []*presence.Tracker) []TopicRow {
	subs := map[string]int{}
	ep.EachSession(func(s *phx.Session) bool {
		for _, t := range s.Topics() {
			subs[t]++
		}
		return true
	})
	node := ep.NodeName()
	topics := make([]TopicRow, 0, len(subs))
	for t, n := range subs {
		topics = append(topics, TopicRow{Name: t, Subscribers: n, Nodes: map[string]int{node: n}, EventsPerSecond: rates[t]})
	}
	for t, r := range rates {
		if _, ok := subs[t]; !ok && r > 0 {
			h, _ := ep.Route(t)
			if h != nil { // a topic of this endpoint, left since
				topics = append(topics, TopicRow{Name: t, Nodes: map[string]int{}, EventsPerSecond: r})
			}
		}
	}
	for _, t := range topics {
		delete(rates, t.Name)
	}
	topics = busiest(topics, in.opts.MaxTopics)
	for i := range topics {
		t := &topics[i]
		h, pattern := ep.Route(t.Name)
		t.Pattern = pattern
		if st, ok := livestate.StateOf(h, t.Name); ok {
			t.State = &st
		}
		for _, tr := range trackers {
			t.Presence += tr.Count(t.Name)
		}
	}
	return topics
}

// mergeTopics merges the nodes' topics tables into one (subscribers and
// events summed, the state of the node that has one, presence as any node
// sees it) of at most limit topics, and empties the nodes' own.
func mergeTopics(nodes []Node, limit int) []TopicRow {
	byName := map[string]*TopicRow{}
	var order []string
	for i := range nodes {
		for _, t := range nodes[i].Topics {
			m := byName[t.Name]
			if m == nil {
				m = &TopicRow{Name: t.Name, Pattern: t.Pattern, Nodes: map[string]int{}}
				byName[t.Name] = m
				order = append(order, t.Name)
			}
			m.Subscribers += t.Subscribers
			for n, c := range t.Nodes {
				m.Nodes[n] += c
			}
			m.EventsPerSecond += t.EventsPerSecond
			if t.State != nil && (m.State == nil || t.State.Bytes > m.State.Bytes) {
				st := *t.State
				m.State = &st
			}
			m.Presence = max(m.Presence, t.Presence)
		}
		nodes[i].Topics = nil
	}
	out := make([]TopicRow, 0, len(order))
	for _, name := range order {
		out = append(out, *byName[name])
	}
	return busiest(out, limit)
}

// busiest sorts topics by events per second, then subscribers, then name,
// and keeps the first limit.
func busiest(topics []TopicRow, limit int) []TopicRow {
	sort.Slice(topics, func(i, j int) bool {
		a, b := topics[i], topics[j]
		if a.EventsPerSecond != b.EventsPerSecond {
			return a.EventsPerSecond > b.EventsPerSecond
		}
		if a.Subscribers != b.Subscribers {
			return a.Subscribers > b.Subscribers
		}
		return a.Name < b.Name
	})
	if len(topics) > limit {
		topics = topics[:limit]
	}
	return topics
}
