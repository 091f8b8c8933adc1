package adapter

import "fmt"

// Mode selects how broadcasts map to broker keys (Redis channels, NATS
// subjects). The adapters' public Mode types convert to and from it.
type Mode int

const (
	// Topics gives every topic its own key, subscribed while the node has
	// local subscribers of the topic, plus one key per node for direct
	// messages.
	Topics Mode = iota
	// Bus sends everything on one key per namespace that every node
	// receives in full.
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
// empty string is the default, Topics. Errors start with "<name> pubsub: ".
func ParseMode(name, s string) (Mode, error) {
	switch s {
	case "topics", "":
		return Topics, nil
	case "bus":
		return Bus, nil
	}
	return 0, fmt.Errorf("%s pubsub: unknown mode %q (want topics or bus)", name, s)
}
