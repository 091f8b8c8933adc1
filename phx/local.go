package phx

// BroadcastLocal publishes an event to the subscribers of topic on this
// node only, never through the PubSub adapter: plain channels' clients get
// one frame encoded once for all of them, channels with an [OutHandler] get
// it as a *Broadcast. Cluster-aware packages that compute what each node
// must show (presence) use it. It returns how many local channels it
// reached.
func (e *Endpoint) BroadcastLocal(topic, event string, payload any) (int, error) {
	if reserved(topic) {
		return 0, ErrReservedTopic
	}
	p, err := Prepare(topic, event, payload)
	if err != nil {
		return 0, err
	}
	return e.hub.publish(&p.b, nil), nil
}
