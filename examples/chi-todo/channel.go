package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// TodoState is the state synced to the clients of topic todo:<list>.
type TodoState struct {
	Todos []Todo `json:"todos"`
}

// changedEvent is broadcast on todo:<list> after every change; each channel
// of the list then reloads its state from the store.
const changedEvent = "changed"

func todoTopic(list string) string { return "todo:" + list }

// todoChannel is one client's LiveState channel on a list. The store is the
// truth: the channel state is a copy reloaded after every change.
type todoChannel struct {
	todos *Todos
	log   *slog.Logger
	list  string
}

// Authorize refuses topics that do not name a valid list: the join reply
// is {"reason": "bad list name …"}.
func (c *todoChannel) Authorize(_ context.Context, s *livestate.Socket, _ phx.Payload) error {
	c.list = s.TopicParam()
	return checkList(c.list)
}

// Init loads the list.
func (c *todoChannel) Init(ctx context.Context, _ *livestate.Socket, _ phx.Payload) (TodoState, error) {
	var st TodoState
	return st, c.reload(ctx, &st)
}

// HandleEvent runs add_todo {title}, toggle_todo {id}, delete_todo {id} and
// clear_done {}. A returned error reaches the user as an `error` event
// (phx-live-state's livestate-error) and the state stays as it was.
func (c *todoChannel) HandleEvent(ctx context.Context, _ *livestate.Socket, event string, payload phx.Payload, st *TodoState) error {
	var p struct {
		Title string `json:"title"`
		ID    string `json:"id"`
	}
	if err := payload.Decode(&p); err != nil {
		return &InputError{fmt.Sprintf("%s: the payload must be a JSON object", event)}
	}
	var err error
	switch event {
	case "add_todo":
		_, err = c.todos.Add(ctx, c.list, p.Title)
	case "toggle_todo":
		_, err = c.todos.Toggle(ctx, c.list, p.ID)
	case "delete_todo":
		err = c.todos.Delete(ctx, c.list, p.ID)
	case "clear_done":
		err = c.todos.ClearDone(ctx, c.list)
	default:
		err = &InputError{fmt.Sprintf("unknown event %q", event)}
	}
	if err != nil {
		return c.userError(err)
	}
	// The broadcast from Todos.Changed reloads every channel of the list,
	// this one included; reloading now shows the change without waiting.
	return c.reload(ctx, st)
}

// HandleMessage reloads the list when it changed elsewhere (another client,
// a REST call).
func (c *todoChannel) HandleMessage(ctx context.Context, _ *livestate.Socket, msg any, st *TodoState) error {
	if b, ok := msg.(*phx.Broadcast); ok && b.Event == changedEvent {
		return c.reload(ctx, st)
	}
	return nil
}

func (c *todoChannel) reload(ctx context.Context, st *TodoState) error {
	todos, err := c.todos.List(ctx, c.list)
	if err != nil {
		return c.userError(err)
	}
	st.Todos = todos
	return nil
}

// userError keeps store failures' details in the log.
func (c *todoChannel) userError(err error) error {
	var in *InputError
	if errors.As(err, &in) || errors.Is(err, ErrNotFound) {
		return err
	}
	c.log.Error("todo store failed", "list", c.list, "error", err)
	return errors.New("the todo could not be saved, please try again")
}
