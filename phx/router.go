package phx

import (
	"sort"
	"strings"
	"sync"
)

// router maps topics to handlers. A pattern is an exact topic ("room:lobby")
// or a prefix ending in "*" ("room:*"). Exact patterns win; among wildcards
// the longest prefix wins.
type router struct {
	mu       sync.RWMutex
	exact    map[string]Handler
	prefixes []prefixRoute // sorted by descending prefix length
}

type prefixRoute struct {
	prefix  string
	pattern string
	h       Handler
}

func (r *router) handle(pattern string, h Handler) {
	if h == nil {
		panic("phx: nil handler for topic pattern " + pattern)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		for _, p := range r.prefixes {
			if p.prefix == prefix {
				panic("phx: topic pattern registered twice: " + pattern)
			}
		}
		r.prefixes = append(r.prefixes, prefixRoute{prefix, pattern, h})
		sort.SliceStable(r.prefixes, func(i, j int) bool { return len(r.prefixes[i].prefix) > len(r.prefixes[j].prefix) })
		return
	}
	if r.exact == nil {
		r.exact = map[string]Handler{}
	}
	if _, dup := r.exact[pattern]; dup {
		panic("phx: topic pattern registered twice: " + pattern)
	}
	r.exact[pattern] = h
}

// match returns the handler of topic, the pattern it matched and the part
// of the topic matched by a wildcard ("" for exact patterns).
func (r *router) match(topic string) (h Handler, pattern, param string) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if h, ok := r.exact[topic]; ok {
		return h, topic, ""
	}
	for _, p := range r.prefixes {
		if rest, ok := strings.CutPrefix(topic, p.prefix); ok {
			return p.h, p.pattern, rest
		}
	}
	return nil, "", ""
}

// Route returns the handler topic is routed to and the pattern it matched
// ("room:*"), or a nil handler when no pattern matches. It is read-only:
// for tools that look at an endpoint from outside (the inspector).
func (e *Endpoint) Route(topic string) (h Handler, pattern string) {
	h, pattern, _ = e.router.match(topic)
	return h, pattern
}
