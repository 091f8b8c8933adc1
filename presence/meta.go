package presence

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/seance-go/seance/internal/jsonenc"
)

// Presence is one key's entry in a topic's list: its metas, one per
// tracking (one per tab of a user), oldest first. It is encoded as
// {"metas":[…]} plus the fields of Extra, which an [Options.Fetch] hook may
// set.
type Presence struct {
	Metas []Meta
	// Extra holds fields sent beside "metas" (Phoenix's fetch/2 adds e.g.
	// "user"); each value is JSON-encoded.
	Extra map[string]any
}

// Meta is one tracking of a key: the meta the channel tracked, and the
// references Phoenix adds to it.
type Meta struct {
	// Ref is the meta's unique phx_ref.
	Ref string
	// PrevRef is the phx_ref it replaced (phx_ref_prev) after an update,
	// or "".
	PrevRef string
	// Data is the tracked meta, a JSON object.
	Data json.RawMessage
}

// Decode unmarshals the tracked meta into v.
func (m Meta) Decode(v any) error { return json.Unmarshal(m.Data, v) }

// MarshalJSON encodes the meta as Phoenix does: the tracked object with
// phx_ref (and phx_ref_prev) added.
func (m Meta) MarshalJSON() ([]byte, error) { return m.appendJSON(nil), nil }

func (m Meta) appendJSON(b []byte) []byte {
	d := m.Data
	if len(d) < 2 {
		d = json.RawMessage("{}")
	}
	// d is a compact object: "{…}". phx_ref goes last so that it wins
	// over a key of the same name in the tracked meta.
	b = append(b, d[:len(d)-1]...)
	if len(d) > 2 {
		b = append(b, ',')
	}
	b = append(b, `"phx_ref":`...)
	b = jsonenc.AppendString(b, m.Ref, false)
	if m.PrevRef != "" {
		b = append(b, `,"phx_ref_prev":`...)
		b = jsonenc.AppendString(b, m.PrevRef, false)
	}
	return append(b, '}')
}

// MarshalJSON encodes {"metas":[…]} plus the Extra fields.
func (p *Presence) MarshalJSON() ([]byte, error) { return p.appendJSON(nil) }

func (p *Presence) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"metas":[`...)
	for i, m := range p.Metas {
		if i > 0 {
			b = append(b, ',')
		}
		b = m.appendJSON(b)
	}
	b = append(b, ']')
	if len(p.Extra) > 0 {
		keys := make([]string, 0, len(p.Extra))
		for k := range p.Extra {
			if k != "metas" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			v, err := json.Marshal(p.Extra[k])
			if err != nil {
				return nil, fmt.Errorf("presence: encoding field %q: %w", k, err)
			}
			b = append(b, ',')
			b = jsonenc.AppendString(b, k, false)
			b = append(b, ':')
			b = append(b, v...)
		}
	}
	return append(b, '}'), nil
}

// List is a topic's presences by key, encoded as Phoenix's presence_state.
type List map[string]*Presence

// MarshalJSON encodes the list with its keys sorted.
func (l List) MarshalJSON() ([]byte, error) { return l.appendJSON(nil) }

func (l List) appendJSON(b []byte) ([]byte, error) {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonenc.AppendString(b, k, false)
		b = append(b, ':')
		if b, err = l[k].appendJSON(b); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// Diff is one batch of changes of a topic, encoded as Phoenix's
// presence_diff: the metas that joined and those that left, by key. An
// update is a leave of the old meta and a join of the new one.
type Diff struct {
	Joins  List
	Leaves List
}

// MarshalJSON encodes {"joins":{…},"leaves":{…}}.
func (d *Diff) MarshalJSON() ([]byte, error) {
	b := []byte(`{"joins":`)
	b, err := d.Joins.appendJSON(b)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"leaves":`...)
	if b, err = d.Leaves.appendJSON(b); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// ErrMetaNotObject is returned when a tracked meta does not encode as a
// JSON object.
var ErrMetaNotObject = errors.New("presence: meta must encode as a JSON object")

// encodeMeta turns a tracked meta into a compact JSON object (nil → {}).
func encodeMeta(meta any) (json.RawMessage, error) {
	var b []byte
	switch m := meta.(type) {
	case nil:
		return json.RawMessage("{}"), nil
	case json.RawMessage:
		b = m
	default:
		var err error
		if b, err = json.Marshal(meta); err != nil {
			return nil, fmt.Errorf("presence: encoding meta: %w", err)
		}
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, fmt.Errorf("presence: encoding meta: %w", err)
	}
	out := buf.Bytes()
	if len(out) < 2 || out[0] != '{' {
		return nil, ErrMetaNotObject
	}
	return out, nil
}
