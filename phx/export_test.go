package phx

// SetOnFirst makes the hub call f (outside its lock) whenever a topic gains
// its first local subscriber, for tests of what happens between a join's
// subscription and its reply.
func SetOnFirst(e *Endpoint, f func(topic string)) { e.hub.onFirst = f }
