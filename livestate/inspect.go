package livestate

import "github.com/seance-go/seance/phx"

// TopicState is what [StateOf] reports of a shared LiveState topic.
type TopicState struct {
	// Version is the topic's state version.
	Version int `json:"version"`
	// Bytes is the size of the state's JSON as last encoded; 0 when it is
	// not known (a [Doc] state whose edits were sent as patches only).
	Bytes int `json:"bytes"`
}

// stateReporter is implemented by the handlers that hold one state per
// topic.
type stateReporter interface {
	topicState(topic string) (TopicState, bool)
}

// StateOf reports the state of topic when h is a shared LiveState handler
// ([NewShared]) holding that topic's state on this node, for tools that
// look at a server from outside (the inspector); h is what
// phx.Endpoint.Route returns for topic. ok is false for any other handler
// (the channels of [New] have a state and a version per client, not per
// topic), for a topic without a state here, and while a change of the
// topic is under way: StateOf never waits for one.
func StateOf(h phx.Handler, topic string) (st TopicState, ok bool) {
	r, is := h.(stateReporter)
	if !is {
		return TopicState{}, false
	}
	return r.topicState(topic)
}

// topicState reads a topic's version and size under its lock, if free.
func (h *sharedHandler[S]) topicState(topic string) (TopicState, bool) {
	h.mu.Lock()
	ts := h.topics[topic]
	h.mu.Unlock()
	if ts == nil || !ts.mu.TryLock() {
		return TopicState{}, false
	}
	defer ts.mu.Unlock()
	if !ts.ready {
		return TopicState{}, false
	}
	data, err := ts.sync.full(&ts.state)
	if err != nil {
		return TopicState{}, false
	}
	return TopicState{Version: ts.sync.version, Bytes: len(data)}, true
}
