package livestate

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/seance-go/seance/phx"
)

// EventKind classifies an inbound channel event.
type EventKind int

const (
	// EventOther is not a LiveState event.
	EventOther EventKind = iota
	// EventClient is an application event for HandleEvent.
	EventClient
	// EventRefresh asks for the full current state.
	EventRefresh
)

// MessageBuilder decides the event names and payload shapes of a LiveState
// dialect. [Dialect] implements it for the known dialects; implement it
// directly for anything else.
type MessageBuilder interface {
	// ClientEvent classifies an inbound event; for EventClient it returns
	// the application event's name and payload.
	ClientEvent(event string, payload phx.Payload) (name string, p phx.Payload, kind EventKind)
	// Change returns the event and JSON payload of a full state.
	Change(state []byte, version int) (event string, payload []byte)
	// Patch returns the event and JSON payload of an RFC 6902 patch.
	Patch(patch []byte, version int) (event string, payload []byte)
	// Error returns the event and payload pushed for an error.
	Error(err error) (event string, payload any)
	// Emit returns the event and payload of an event emitted by a handler.
	Emit(name string, detail any) (event string, payload any)
}

// Dialect is a MessageBuilder configured by names.
type Dialect struct {
	EventPrefix  string // inbound application events: EventPrefix + name
	RefreshEvent string // inbound request for the full state
	ChangeEvent  string // outbound full state
	PatchEvent   string // outbound patch
	ErrorEvent   string // outbound error
	StateKey     string // key of the state in ChangeEvent's payload
	PatchKey     string // key of the operations in PatchEvent's payload
	VersionKey   string // key of the version in both
	// WrappedEvent, when set, is an inbound event whose payload carries the
	// application event as {"type": name, "payload": …} (the Seance JS
	// client's seance:event).
	WrappedEvent string
	// EmitEvent, when set, wraps emitted events as {"name":…,"detail":…}
	// under this event; when empty they are pushed under their own names.
	EmitEvent string
}

// LiveStateDialect is the default: what phx-live-state and live_state speak
// (lvs_evt:NAME, lvs_refresh, state:change {state, version},
// state:patch {patch, version}, error).
func LiveStateDialect() Dialect {
	return Dialect{
		EventPrefix: "lvs_evt:", RefreshEvent: "lvs_refresh",
		ChangeEvent: "state:change", PatchEvent: "state:patch", ErrorEvent: "error",
		StateKey: "state", PatchKey: "patch", VersionKey: "version",
	}
}

// SynqDialect is Synq's naming: synq:change, synq:patch and synq:error
// outbound; inbound events as LiveState's (Synq's client-side names could not
// be verified from its sources; adjust EventPrefix if your client differs).
func SynqDialect() Dialect {
	d := LiveStateDialect()
	d.ChangeEvent, d.PatchEvent, d.ErrorEvent = "synq:change", "synq:patch", "synq:error"
	return d
}

// SeanceDialect is the naming of the Elixir seance fork (guess/seance):
// inbound seance:event:NAME (its server tests) and seance:event
// {type, payload} (its JS client), outbound seance:change {state, version},
// seance:patch {operations, version}, seance:error, and emitted events
// wrapped as seance:event {name, detail}. The fork has no refresh request;
// seance:refresh is accepted as one.
func SeanceDialect() Dialect {
	return Dialect{
		EventPrefix: "seance:event:", RefreshEvent: "seance:refresh", WrappedEvent: "seance:event",
		ChangeEvent: "seance:change", PatchEvent: "seance:patch", ErrorEvent: "seance:error",
		StateKey: "state", PatchKey: "operations", VersionKey: "version",
		EmitEvent: "seance:event",
	}
}

// ClientEvent implements MessageBuilder.
func (d Dialect) ClientEvent(event string, payload phx.Payload) (string, phx.Payload, EventKind) {
	switch {
	case event == d.RefreshEvent:
		return "", payload, EventRefresh
	case d.WrappedEvent != "" && event == d.WrappedEvent:
		var w struct {
			Type    string          `json:"type"`
			Payload json.RawMessage `json:"payload"`
		}
		if payload.Decode(&w) != nil || w.Type == "" {
			return "", payload, EventOther
		}
		return w.Type, phx.Payload{Data: w.Payload}, EventClient
	}
	if name, ok := strings.CutPrefix(event, d.EventPrefix); ok {
		return name, payload, EventClient
	}
	return "", payload, EventOther
}

// Change implements MessageBuilder.
func (d Dialect) Change(state []byte, version int) (string, []byte) {
	return d.ChangeEvent, d.wrap(d.StateKey, state, version)
}

// Patch implements MessageBuilder.
func (d Dialect) Patch(patch []byte, version int) (string, []byte) {
	return d.PatchEvent, d.wrap(d.PatchKey, patch, version)
}

func (d Dialect) wrap(key string, body []byte, version int) []byte {
	b := make([]byte, 0, len(body)+len(key)+len(d.VersionKey)+24)
	b = appendWrapHead(b, key)
	b = append(b, body...)
	return d.appendWrapTail(b, version)
}

// appendWrapHead appends the start of a payload wrapping a body under
// key: {"key":
func appendWrapHead(b []byte, key string) []byte {
	b = append(b, '{', '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

// appendWrapTail appends the end of a payload after its body:
// ,"version":N}
func (d Dialect) appendWrapTail(b []byte, version int) []byte {
	b = append(b, ',', '"')
	b = append(b, d.VersionKey...)
	b = append(b, '"', ':')
	b = strconv.AppendInt(b, int64(version), 10)
	return append(b, '}')
}

// Error implements MessageBuilder: {"message": err.Error()} unless err
// implements [ErrorPayload].
func (d Dialect) Error(err error) (string, any) {
	if ep, ok := err.(ErrorPayload); ok {
		return d.ErrorEvent, ep.ErrorPayload()
	}
	return d.ErrorEvent, map[string]string{"message": err.Error()}
}

// Emit implements MessageBuilder.
func (d Dialect) Emit(name string, detail any) (string, any) {
	if d.EmitEvent == "" {
		return name, detail
	}
	return d.EmitEvent, map[string]any{"name": name, "detail": detail}
}
