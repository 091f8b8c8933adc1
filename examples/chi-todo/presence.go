package main

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
	"github.com/seance-go/seance/presence"
)

// ViewersState is the state synced to the clients of topic
// viewers:<list>: who is viewing the list, with how many tabs.
type ViewersState struct {
	Viewers []Viewer `json:"viewers"`
}

// Viewer is one name viewing a list.
type Viewer struct {
	Name string `json:"name"`
	Tabs int    `json:"tabs"`
}

// registerViewers routes viewers:<list> to a LiveState channel that tracks
// its client in a presence tracker and reflects the list's presences into
// its state. The tracker needs no Close here: the registry's Shutdown ends
// every channel, and with them every entry.
func registerViewers(reg *livestate.Registry, log *slog.Logger) *presence.Tracker {
	tr := presence.New(reg.Endpoint(), presence.Options{Logger: log})
	reg.Handle("viewers:*", livestate.New(func() livestate.Channel[ViewersState] {
		return &viewersChannel{tracker: tr}
	}, livestate.Options{}))
	return tr
}

// viewersChannel is one client's channel on viewers:<list>.
type viewersChannel struct {
	tracker *presence.Tracker
}

// Authorize refuses topics that do not name a valid list.
func (c *viewersChannel) Authorize(_ context.Context, s *livestate.Socket, _ phx.Payload) error {
	return checkList(s.TopicParam())
}

// Init tracks the client under its "name" param (default "guest") and
// starts from the current list. Its entry leaves by itself when the
// channel ends.
func (c *viewersChannel) Init(_ context.Context, s *livestate.Socket, params phx.Payload) (ViewersState, error) {
	var p struct {
		Name string `json:"name"`
	}
	_ = params.Decode(&p) // a bad payload is a guest
	name := strings.TrimSpace(p.Name)
	if name == "" || utf8.RuneCountInString(name) > 40 {
		name = "guest"
	}
	if _, err := c.tracker.Track(s.Channel(), name, map[string]string{"transport": s.ConnectInfo().Transport}); err != nil {
		return ViewersState{}, err
	}
	return viewersOf(c.tracker.List(s.Topic())), nil
}

// HandleEvent: the viewers channel takes no events.
func (c *viewersChannel) HandleEvent(context.Context, *livestate.Socket, string, phx.Payload, *ViewersState) error {
	return errors.New("the viewers channel takes no events")
}

// HandleMessage reloads the list on every presence_diff of the topic (one
// per batch of joins and leaves).
func (c *viewersChannel) HandleMessage(_ context.Context, s *livestate.Socket, msg any, st *ViewersState) error {
	if presence.IsDiff(msg, s.Topic()) {
		*st = viewersOf(c.tracker.List(s.Topic()))
	}
	return nil
}

// viewersOf turns a presence list into viewers sorted by name.
func viewersOf(l presence.List) ViewersState {
	st := ViewersState{Viewers: []Viewer{}}
	for name, p := range l {
		st.Viewers = append(st.Viewers, Viewer{Name: name, Tabs: len(p.Metas)})
	}
	slices.SortFunc(st.Viewers, func(a, b Viewer) int { return strings.Compare(a.Name, b.Name) })
	return st
}
