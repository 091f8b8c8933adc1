package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Todo is one item of a list; its JSON form is what clients see.
type Todo struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Done  bool   `json:"done"`
}

// Store keeps the todo lists. It only stores: titles and list names are
// validated before they reach it (see [Todos]). Implementations must be safe
// for concurrent use; a database-backed one drops in for [MemoryStore].
type Store interface {
	// List returns the todos of a list in insertion order (empty for an
	// unknown list).
	List(ctx context.Context, list string) ([]Todo, error)
	// Add appends a todo with a new ID.
	Add(ctx context.Context, list, title string) (Todo, error)
	// Toggle flips Done; ErrNotFound when the list has no such todo.
	Toggle(ctx context.Context, list, id string) (Todo, error)
	// Delete removes a todo; ErrNotFound when the list has no such todo.
	Delete(ctx context.Context, list, id string) error
	// ClearDone removes the done todos and reports how many there were.
	ClearDone(ctx context.Context, list string) (int, error)
}

// ErrNotFound reports an unknown todo ID.
var ErrNotFound = errors.New("no such todo")

// maxTodos bounds one list of the in-memory store.
const maxTodos = 1000

// MemoryStore is the in-memory Store. The zero value is ready to use.
type MemoryStore struct {
	mu    sync.Mutex
	lists map[string][]Todo
}

// List implements Store.
func (m *MemoryStore) List(_ context.Context, list string) ([]Todo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.lists[list]), nil
}

// Add implements Store.
func (m *MemoryStore) Add(_ context.Context, list, title string) (Todo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.lists[list]) >= maxTodos {
		return Todo{}, &InputError{fmt.Sprintf("the list is full (%d todos): clear some first", maxTodos)}
	}
	if m.lists == nil {
		m.lists = make(map[string][]Todo)
	}
	t := Todo{ID: newID(), Title: title}
	m.lists[list] = append(m.lists[list], t)
	return t, nil
}

// Toggle implements Store.
func (m *MemoryStore) Toggle(_ context.Context, list, id string) (Todo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	todos := m.lists[list]
	i := slices.IndexFunc(todos, func(t Todo) bool { return t.ID == id })
	if i < 0 {
		return Todo{}, ErrNotFound
	}
	todos[i].Done = !todos[i].Done
	return todos[i], nil
}

// Delete implements Store.
func (m *MemoryStore) Delete(_ context.Context, list, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	todos := m.lists[list]
	i := slices.IndexFunc(todos, func(t Todo) bool { return t.ID == id })
	if i < 0 {
		return ErrNotFound
	}
	m.lists[list] = slices.Delete(todos, i, i+1)
	return nil
}

// ClearDone implements Store.
func (m *MemoryStore) ClearDone(_ context.Context, list string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	todos := m.lists[list]
	kept := slices.DeleteFunc(todos, func(t Todo) bool { return t.Done })
	n := len(todos) - len(kept)
	m.lists[list] = kept
	return n, nil
}

func newID() string {
	var b [6]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24)
	return hex.EncodeToString(b[:])
}

// InputError is a problem with what the user sent; its message is meant for
// them (400 over REST, an error event over the socket).
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

const maxTitle = 200

var listName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// checkList validates a list name (used in topics and URLs).
func checkList(list string) error {
	if !listName.MatchString(list) {
		return &InputError{fmt.Sprintf("bad list name %q: use 1 to 64 letters, digits, - or _", list)}
	}
	return nil
}

// checkTitle trims a title and checks its length.
func checkTitle(title string) (string, error) {
	title = strings.TrimSpace(title)
	switch n := utf8.RuneCountInString(title); {
	case n == 0:
		return "", &InputError{"a todo needs a title"}
	case n > maxTitle:
		return "", &InputError{fmt.Sprintf("the title is too long: %d characters, at most %d", n, maxTitle)}
	}
	return title, nil
}

// Todos is the application logic shared by the socket and REST: it validates
// input, changes the store and tells every client of the list.
type Todos struct {
	Store Store
	// Changed is called after every change of a list.
	Changed func(ctx context.Context, list string)
}

// List returns the todos of a list.
func (t *Todos) List(ctx context.Context, list string) ([]Todo, error) {
	if err := checkList(list); err != nil {
		return nil, err
	}
	todos, err := t.Store.List(ctx, list)
	if todos == nil {
		todos = []Todo{}
	}
	return todos, err
}

// Add validates the title and adds a todo.
func (t *Todos) Add(ctx context.Context, list, title string) (Todo, error) {
	if err := checkList(list); err != nil {
		return Todo{}, err
	}
	title, err := checkTitle(title)
	if err != nil {
		return Todo{}, err
	}
	todo, err := t.Store.Add(ctx, list, title)
	if err != nil {
		return Todo{}, err
	}
	t.Changed(ctx, list)
	return todo, nil
}

// Toggle flips a todo between done and not done.
func (t *Todos) Toggle(ctx context.Context, list, id string) (Todo, error) {
	if err := checkList(list); err != nil {
		return Todo{}, err
	}
	todo, err := t.Store.Toggle(ctx, list, id)
	if err != nil {
		return Todo{}, err
	}
	t.Changed(ctx, list)
	return todo, nil
}

// Delete removes a todo.
func (t *Todos) Delete(ctx context.Context, list, id string) error {
	if err := checkList(list); err != nil {
		return err
	}
	if err := t.Store.Delete(ctx, list, id); err != nil {
		return err
	}
	t.Changed(ctx, list)
	return nil
}

// ClearDone removes the done todos of a list.
func (t *Todos) ClearDone(ctx context.Context, list string) error {
	if err := checkList(list); err != nil {
		return err
	}
	n, err := t.Store.ClearDone(ctx, list)
	if err != nil {
		return err
	}
	if n > 0 {
		t.Changed(ctx, list)
	}
	return nil
}
