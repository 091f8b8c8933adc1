package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// formTopic is the topic of <contact-form>.
const formTopic = "contact:form"

// FormState is one visitor's form: the store's complaints per field, and
// the contact once saved. Each visitor has their own; nothing is shared.
type FormState struct {
	// Errors maps a field ("name", "email", "phone") to what is wrong with
	// it; empty when the last save worked or nothing was sent yet.
	Errors map[string]string `json:"errors"`
	// Saved is the contact the visitor saved, or null.
	Saved *Contact `json:"saved"`
}

// formChannel serves <contact-form>.
type formChannel struct {
	store *Store
	log   *slog.Logger
}

// Init shows an empty form.
func (formChannel) Init(context.Context, *livestate.Socket, phx.Payload) (FormState, error) {
	return FormState{Errors: map[string]string{}}, nil
}

// HandleEvent runs save_contact {name, email, phone} and new_contact {}.
// What the store refuses lands in the state's errors, shown beside the
// fields; a database failure is an error event.
func (c formChannel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, payload phx.Payload, st *FormState) error {
	switch event {
	case "save_contact":
		var in struct{ Name, Email, Phone string }
		if err := payload.Decode(&in); err != nil {
			return errors.New("save_contact: the payload must be a JSON object")
		}
		saved, err := c.store.Add(ctx, Contact{Name: in.Name, Email: in.Email, Phone: in.Phone})
		var invalid *ValidationError
		switch {
		case errors.As(err, &invalid):
			*st = FormState{Errors: invalid.Fields}
			return nil
		case err != nil:
			c.log.Error("saving a contact failed", "error", err)
			return errors.New("the contact could not be saved, please try again later")
		}
		*st = FormState{Errors: map[string]string{}, Saved: &saved}
		return nil
	case "new_contact":
		*st = FormState{Errors: map[string]string{}}
		return nil
	}
	return fmt.Errorf("unknown event %q", event)
}
