package livestate

import (
	"context"
	"errors"
	"sync"

	"github.com/seance-go/seance/phx"
)

// Socket is a LiveState channel's handle on its client, passed to every
// callback. Emit, Reply and ReplyError are meant for the callback's own
// goroutine; Send, Subscribe, Broadcast and Close are safe anywhere.
type Socket struct {
	// ch is the channel of the current connection. It changes when a kept
	// channel is resumed by a new connection (under mu); callbacks read it
	// directly, other goroutines through cur.
	ch *phx.Channel
	// A remote socket (ch nil) stands for a client of another node whose
	// event the owner of a clustered shared topic handles.
	topic string
	ep    *phx.Endpoint

	mu   sync.Mutex
	subs map[string]struct{} // topics subscribed with Subscribe, renewed on resume

	// per callback
	ref     phx.Ref
	inEvent bool
	replied bool
	reply   *phx.Reply
	emits   []emitted
}

type emitted struct {
	name   string
	detail any
}

// Topic is the channel's topic.
func (s *Socket) Topic() string {
	if ch := s.cur(); ch != nil {
		return ch.Topic()
	}
	return s.topic
}

// TopicParam is the part of the topic matched by the "*" of its route:
// "groceries" for topic "todo:groceries" registered as "todo:*".
func (s *Socket) TopicParam() string {
	if ch := s.cur(); ch != nil {
		return ch.TopicParam()
	}
	return ""
}

// Identity is what the socket's connect hook attached to the connection
// (nil for a client of another node, see [SharedChannel]).
func (s *Socket) Identity() any {
	if ch := s.cur(); ch != nil {
		return ch.Identity()
	}
	return nil
}

// ConnectInfo describes the client's connection (transport, connect params,
// auth token). For a client of another node (see [SharedChannel]) it is
// empty but for Transport "cluster".
func (s *Socket) ConnectInfo() *phx.ConnectInfo {
	if ch := s.cur(); ch != nil {
		return ch.ConnectInfo()
	}
	return &phx.ConnectInfo{Transport: "cluster"}
}

// Channel is the underlying Phoenix channel (nil for a client of another
// node, see [SharedChannel]).
func (s *Socket) Channel() *phx.Channel { return s.cur() }

// Emit queues an event for the client, pushed under its own name with detail
// as payload, in order, before the state update of the current callback
// (live_state's reply events).
func (s *Socket) Emit(name string, detail any) {
	s.emits = append(s.emits, emitted{name, detail})
}

// Reply answers the client push being handled with an ok phx_reply carrying
// payload. It has no effect outside HandleEvent or after a first reply.
func (s *Socket) Reply(payload any) { s.setReply(phx.Ok(payload)) }

// ReplyError answers the client push being handled with an error phx_reply;
// a string reason is sent as {"reason": reason}. phx-live-state ignores
// replies to its events: to show its users a message, return an error from
// HandleEvent instead, which is pushed as an `error` event and surfaces as
// livestate-error.
func (s *Socket) ReplyError(reason any) {
	if str, ok := reason.(string); ok {
		reason = map[string]string{"reason": str}
	}
	s.setReply(phx.Err(reason))
}

func (s *Socket) setReply(r *phx.Reply) {
	if !s.inEvent || s.replied {
		return
	}
	s.replied = true
	s.reply = r
}

// Send delivers msg to the channel's [MessageHandler] after the work already
// queued. It fails once the channel has ended, while a kept channel waits
// for its client to come back, and for a client of another node.
func (s *Socket) Send(msg any) error {
	ch := s.cur()
	if ch == nil {
		return errRemoteSocket
	}
	return ch.Send(msg)
}

// Subscribe delivers broadcasts on topic to the channel's [MessageHandler].
// A resumed channel (see [Options].ResumeGrace) is subscribed again to the
// topics it subscribed to.
func (s *Socket) Subscribe(topic string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		return errRemoteSocket
	}
	if err := s.ch.Subscribe(topic); err != nil {
		return err
	}
	if s.subs == nil {
		s.subs = map[string]struct{}{}
	}
	s.subs[topic] = struct{}{}
	return nil
}

// cur returns the channel of the current connection (nil for a client of
// another node).
func (s *Socket) cur() *phx.Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

// moveTo makes ch the socket's channel (a resume) and subscribes it to the
// topics the previous one had subscribed to.
func (s *Socket) moveTo(ch *phx.Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ch = ch
	for t := range s.subs {
		if err := ch.Subscribe(t); err != nil {
			delete(s.subs, t)
		}
	}
}

// Broadcast publishes an event to every subscriber of topic on the
// endpoint: plain channels' clients receive it, LiveState channels get it in
// HandleMessage.
func (s *Socket) Broadcast(ctx context.Context, topic, event string, payload any) error {
	ep := s.ep
	if ch := s.cur(); ch != nil {
		ep = ch.Endpoint()
	}
	_, err := ep.Broadcast(ctx, topic, event, payload)
	return err
}

// Close ends the channel from the server; the client receives phx_close.
func (s *Socket) Close() error {
	ch := s.cur()
	if ch == nil {
		return errRemoteSocket
	}
	return ch.Close()
}

// errRemoteSocket is returned by the Socket of a client of another node.
var errRemoteSocket = errors.New("livestate: the client is connected to another node")
