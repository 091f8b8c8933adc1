package nats

import (
	"fmt"
	"log/slog"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/seance-go/seance/pubsub/internal/adapter"
)

// Mode selects how broadcasts map to NATS subjects. Every node of a
// cluster must use the same Mode and Namespace.
type Mode int

const (
	// Topics gives every topic its own subject, which a node subscribes to
	// only while it has local subscribers of the topic (and one subject per
	// node for direct messages). This is the default, as in pubsub/redis.
	Topics = Mode(adapter.Topics)
	// Bus sends every broadcast on one subject per Namespace that every
	// node receives in full (the Phoenix.PubSub design).
	Bus = Mode(adapter.Bus)
)

// String returns "topics" or "bus".
func (m Mode) String() string { return adapter.Mode(m).String() }

// ParseMode parses "topics" or "bus" (as printed by [Mode.String]); the
// empty string is the default, Topics.
func ParseMode(s string) (Mode, error) {
	m, err := adapter.ParseMode("nats", s)
	return Mode(m), err
}

// Options configures a [PubSub]. Zero fields take the defaults.
type Options struct {
	// Conn is the NATS connection to use; it may be shared with the rest of
	// the application and is not closed by [PubSub.Close]. Its reconnection
	// settings apply; connection events are not observed, so Stats does not
	// count them.
	Conn *natsgo.Conn
	// URL is the NATS server URL when Conn is nil (default
	// "nats://127.0.0.1:4222"); the PubSub then owns its connection, which
	// retries forever.
	URL string
	// Node names this node; it must be unique in the cluster (default
	// "<hostname>-<pid>-<random>").
	Node string
	// Namespace is the first token of the subjects used (default "seance");
	// it must be a valid subject token (no '.', '*', '>' or spaces).
	Namespace string
	// Mode maps broadcasts to subjects (default Topics).
	Mode Mode
	// SubscribeTimeout bounds a Subscribe: the wait for the server to have
	// registered the subscription (default 2s).
	SubscribeTimeout time.Duration
	// Buffer is how many received messages may wait for the receive loop
	// (default 65536); past it NATS drops messages (counted in Stats.Lost).
	Buffer int
	// ReconnectWait is the pause between reconnection attempts of an owned
	// connection (default 100ms).
	ReconnectWait time.Duration
	// Logger receives connection changes and losses (default slog.Default()).
	Logger *slog.Logger
}

// setDefaults fills the zero fields and returns the settings shared with
// the other adapters.
func (o *Options) setDefaults() (adapter.Config, error) {
	c := adapter.Config{Name: "nats", Key: "subject", Node: o.Node, Namespace: o.Namespace,
		Mode: adapter.Mode(o.Mode), SubscribeTimeout: o.SubscribeTimeout, Logger: o.Logger}
	if err := c.SetDefaults(); err != nil {
		return c, err
	}
	o.Node, o.Namespace, o.SubscribeTimeout, o.Logger = c.Node, c.Namespace, c.SubscribeTimeout, c.Logger
	for _, r := range o.Namespace {
		if r == '.' || r == '*' || r == '>' || r <= ' ' {
			return c, fmt.Errorf("nats pubsub: namespace %q is not a subject token", o.Namespace)
		}
	}
	if o.URL == "" {
		o.URL = natsgo.DefaultURL
	}
	if o.Buffer <= 0 {
		o.Buffer = 1 << 16
	}
	if o.ReconnectWait <= 0 {
		o.ReconnectWait = 100 * time.Millisecond
	}
	return c, nil
}
