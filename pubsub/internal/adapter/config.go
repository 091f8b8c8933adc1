package adapter

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"time"
)

// Config holds the settings every adapter has. Adapters copy them from
// their public Options, call SetDefaults and copy the result back.
type Config struct {
	// Name names the broker ("redis", "nats"): errors and log messages
	// start with "<Name> pubsub: ".
	Name string
	// Key names the broker's keys in log attributes ("channel", "subject").
	Key string
	// Node names this node; it must be unique in the cluster.
	Node string
	// Namespace separates clusters that share a broker.
	Namespace string
	// Mode maps broadcasts to keys.
	Mode Mode
	// SubscribeTimeout bounds a Subscribe or Unsubscribe.
	SubscribeTimeout time.Duration
	// Logger receives connection changes and losses.
	Logger *slog.Logger
}

// SetDefaults rejects an unknown Mode and fills the zero fields: Node
// "<hostname>-<pid>-<random>", Namespace "seance", SubscribeTimeout 2s,
// Logger slog.Default().
func (c *Config) SetDefaults() error {
	if c.Mode != Topics && c.Mode != Bus {
		return fmt.Errorf("%s pubsub: unknown %v", c.Name, c.Mode)
	}
	if c.Node == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "node"
		}
		c.Node = fmt.Sprintf("%s-%d-%06x", host, os.Getpid(), rand.Uint32()&0xffffff)
	}
	if c.Namespace == "" {
		c.Namespace = "seance"
	}
	if c.SubscribeTimeout <= 0 {
		c.SubscribeTimeout = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}
