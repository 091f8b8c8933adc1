package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// contactTopic is the topic of the embeddable <contact-form>.
const contactTopic = "contact_form:all"

// Contact is a message sent with the contact form.
type Contact struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Email   string    `json:"email"`
	Message string    `json:"message"`
	Sent    time.Time `json:"sent"`
}

// ContactStore keeps contacts; implementations must be safe for concurrent
// use.
type ContactStore interface {
	AddContact(ctx context.Context, c Contact) (Contact, error)
	Contacts(ctx context.Context) ([]Contact, error)
}

// maxContacts bounds the in-memory contact store.
const maxContacts = 10000

// MemoryContacts is the in-memory ContactStore. The zero value is ready to
// use.
type MemoryContacts struct {
	mu       sync.Mutex
	contacts []Contact
}

// AddContact implements ContactStore.
func (m *MemoryContacts) AddContact(_ context.Context, c Contact) (Contact, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.contacts) >= maxContacts {
		return Contact{}, errors.New("contact store full")
	}
	c.ID = newID()
	m.contacts = append(m.contacts, c)
	return c, nil
}

// Contacts implements ContactStore.
func (m *MemoryContacts) Contacts(context.Context) ([]Contact, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.contacts), nil
}

// ContactFormState is the state of one visitor's form.
type ContactFormState struct {
	// Status is "open" (the form is shown) or "sent".
	Status string `json:"status"`
	// Name is the sender's name once sent.
	Name string `json:"name,omitempty"`
}

// contactChannel serves one visitor's contact form. Unlike the todo lists,
// its state is the visitor's own: nothing is shared between clients.
type contactChannel struct {
	store ContactStore
	log   *slog.Logger
	now   func() time.Time
}

// Init shows an empty form.
func (c *contactChannel) Init(context.Context, *livestate.Socket, phx.Payload) (ContactFormState, error) {
	return ContactFormState{Status: "open"}, nil
}

// HandleEvent runs send_contact {name, email, message} and reset_form {}.
func (c *contactChannel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, payload phx.Payload, st *ContactFormState) error {
	switch event {
	case "send_contact":
		var in Contact
		if err := payload.Decode(&in); err != nil {
			return &InputError{"send_contact: the payload must be a JSON object"}
		}
		ct, err := checkContact(in)
		if err != nil {
			return err
		}
		ct.Sent = c.now()
		ct, err = c.store.AddContact(ctx, ct)
		if err != nil {
			c.log.Error("contact store failed", "error", err)
			return errors.New("your message could not be saved, please try again later")
		}
		s.Emit("contact_created", map[string]string{"id": ct.ID})
		*st = ContactFormState{Status: "sent", Name: ct.Name}
		return nil
	case "reset_form":
		*st = ContactFormState{Status: "open"}
		return nil
	}
	return &InputError{fmt.Sprintf("unknown event %q", event)}
}

func checkContact(in Contact) (Contact, error) {
	out := Contact{
		Name:    strings.TrimSpace(in.Name),
		Email:   strings.TrimSpace(in.Email),
		Message: strings.TrimSpace(in.Message),
	}
	if n := utf8.RuneCountInString(out.Name); n == 0 || n > 100 {
		return Contact{}, &InputError{"please give your name (at most 100 characters)"}
	}
	if a, err := mail.ParseAddress(out.Email); err != nil || a.Address != out.Email || len(out.Email) > 254 {
		return Contact{}, &InputError{"please give a valid email address, like ada@example.com"}
	}
	if n := utf8.RuneCountInString(out.Message); n == 0 || n > 2000 {
		return Contact{}, &InputError{"please write a message (at most 2000 characters)"}
	}
	return out, nil
}
