package redis

import (
	"log/slog"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seance-go/seance/pubsub/internal/adapter"
)

// Mode selects how broadcasts map to Redis channels. Every node of a
// cluster must use the same Mode and Namespace.
type Mode int

const (
	// Topics maps every topic to its own Redis channel, which a node
	// subscribes to only while it has local subscribers of the topic (and
	// one channel per node for direct messages). Nodes receive only the
	// traffic they need. This is the default; see the package doc for the
	// measurements behind the choice.
	Topics = Mode(adapter.Topics)
	// Bus sends every broadcast over one Redis channel per Namespace that
	// every node subscribes to; receivers drop their own messages and
	// direct messages for other nodes (the Phoenix.PubSub.Redis design).
	// Joins never touch Redis, but every node receives and decodes every
	// message of the cluster.
	Bus = Mode(adapter.Bus)
)

// String returns "topics" or "bus".
func (m Mode) String() string { return adapter.Mode(m).String() }

// ParseMode parses "topics" or "bus" (as printed by [Mode.String]); the
// empty string is the default, Topics.
func ParseMode(s string) (Mode, error) {
	m, err := adapter.ParseMode("redis", s)
	return Mode(m), err
}

// Options configures a [PubSub]. Zero fields take the defaults.
type Options struct {
	// Client is the Redis client to use; it may be shared with the rest of
	// the application and is not closed by [PubSub.Close]. Create it with
	// ContextTimeoutEnabled so that PublishTimeout and SubscribeTimeout also
	// bound reads and writes, not only dialing. A Redis Cluster client works
	// with classic (unsharded) pub/sub.
	Client goredis.UniversalClient
	// Addr is the "host:port" of the Redis server when Client is nil
	// (default "localhost:6379"); the PubSub then owns its client.
	Addr string
	// Node names this node; it must be unique in the cluster (default
	// "<hostname>-<pid>-<random>").
	Node string
	// Namespace prefixes the Redis channel names, so that several clusters
	// can share one Redis (default "seance").
	Namespace string
	// Mode maps broadcasts to Redis channels (default Topics).
	Mode Mode
	// PublishTimeout bounds one Publish (default 2s).
	PublishTimeout time.Duration
	// SubscribeTimeout bounds a Subscribe or Unsubscribe, including the
	// wait for Redis to confirm a subscription (default 2s).
	SubscribeTimeout time.Duration
	// HealthCheckInterval is how long the receive connection may stay
	// silent before it is pinged; without an answer within another
	// interval it is replaced (default 5s).
	HealthCheckInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait between reconnection attempts
	// (defaults 50ms and 1s).
	MinBackoff, MaxBackoff time.Duration
	// Logger receives connection changes and losses (default slog.Default()),
	// and, at most one a second, the lines go-redis itself logs about this
	// PubSub's calls and about the client New creates (its pool's failed
	// dials). go-redis has one logger per process (goredis.SetLogger): the
	// first New installs one that routes each line to the PubSub it is
	// about and writes other clients' lines to stderr, as go-redis does by
	// default. Calling goredis.SetLogger afterwards replaces it.
	Logger *slog.Logger
}

// setDefaults fills the zero fields and returns the settings shared with
// the other adapters.
func (o *Options) setDefaults() (adapter.Config, error) {
	c := adapter.Config{Name: "redis", Key: "channel", Node: o.Node, Namespace: o.Namespace,
		Mode: adapter.Mode(o.Mode), SubscribeTimeout: o.SubscribeTimeout, Logger: o.Logger}
	if err := c.SetDefaults(); err != nil {
		return c, err
	}
	o.Node, o.Namespace, o.SubscribeTimeout, o.Logger = c.Node, c.Namespace, c.SubscribeTimeout, c.Logger
	if o.Addr == "" {
		o.Addr = "localhost:6379"
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = 2 * time.Second
	}
	if o.HealthCheckInterval <= 0 {
		o.HealthCheckInterval = 5 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 50 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(time.Second, o.MinBackoff)
	}
	return c, nil
}
