package phx

import (
	"errors"
	"strings"
)

// ReservedTopicPrefix starts the topics the library's own cluster services
// use between nodes (cluster.MembershipTopic, cluster.Topic). No client can
// join such a topic, whatever the routes, and the application cannot
// broadcast on one: otherwise a client pushing to a channel that rebroadcasts
// its payload could forge heartbeats or service messages that other nodes
// trust. The services publish through the PubSub adapter directly.
const ReservedTopicPrefix = "seance:"

// ErrReservedTopic is returned by the broadcasts on a topic that starts with
// [ReservedTopicPrefix].
var ErrReservedTopic = errors.New("phx: topic reserved for the library's cluster services")

// reserved reports whether topic is one of the library's.
func reserved(topic string) bool { return strings.HasPrefix(topic, ReservedTopicPrefix) }
