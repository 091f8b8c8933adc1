package nats

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"time"

	natsgo "github.com/nats-io/nats.go"
)

// Mode selects how broadcasts map to NATS subjects. Every node of a
// cluster must use the same Mode and Namespace.
type Mode int

const (
	// Topics gives every topic its own subject, which a node subscribes to
	// only while it has local subscribers of the topic (and one subject per
	// node for direct messages). This is the default, as in pubsub/redis.
	Topics Mode = iota
	// Bus sends every broadcast on one subject per Namespace that every
	// node receives in full (the Phoenix.PubSub design).
	Bus
)

// String returns "topics" or "bus".
func (m Mode) String() string {
	switch m {
	case Topics:
		return "topics"
	case Bus:
		return "bus"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode parses "topics" or "bus" (as printed by [Mode.String]); the
// empty string is the default, Topics.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "topics", "":
		return Topics, nil
	case "bus":
		return Bus, nil
	}
	return 0, fmt.Errorf("nats pubsub: unknown mode %q (want topics or bus)", s)
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

func (o *Options) setDefaults() error {
	if o.Mode != Topics && o.Mode != Bus {
		return fmt.Errorf("nats pubsub: unknown %v", o.Mode)
	}
	if o.Node == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "node"
		}
		o.Node = fmt.Sprintf("%s-%d-%06x", host, os.Getpid(), rand.Uint32()&0xffffff)
	}
	if o.Namespace == "" {
		o.Namespace = "seance"
	}
	for _, r := range o.Namespace {
		if r == '.' || r == '*' || r == '>' || r <= ' ' {
			return fmt.Errorf("nats pubsub: namespace %q is not a subject token", o.Namespace)
		}
	}
	if o.URL == "" {
		o.URL = natsgo.DefaultURL
	}
	if o.SubscribeTimeout <= 0 {
		o.SubscribeTimeout = 2 * time.Second
	}
	if o.Buffer <= 0 {
		o.Buffer = 1 << 16
	}
	if o.ReconnectWait <= 0 {
		o.ReconnectWait = 100 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}
