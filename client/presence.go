package client

import (
	"encoding/json"
	"maps"
	"slices"
	"sync"
)

// PresenceMeta is one meta of a presence: its phx_ref, the phx_ref it
// replaced after an update, and the whole meta object as sent.
type PresenceMeta struct {
	Ref     string
	PrevRef string
	Data    json.RawMessage
}

// Decode unmarshals the meta object into v.
func (m PresenceMeta) Decode(v any) error { return json.Unmarshal(m.Data, v) }

// PresenceEntry is one key's presence: its metas and the other fields the
// server sent beside "metas" (a Phoenix fetch/2 adds some).
type PresenceEntry struct {
	Metas []PresenceMeta
	Extra map[string]json.RawMessage
}

func (e *PresenceEntry) clone() *PresenceEntry {
	if e == nil {
		return nil
	}
	return &PresenceEntry{Metas: slices.Clone(e.Metas), Extra: maps.Clone(e.Extra)}
}

func (e *PresenceEntry) refs() map[string]bool {
	out := make(map[string]bool, len(e.Metas))
	for _, m := range e.Metas {
		out[m.Ref] = true
	}
	return out
}

// UnmarshalJSON decodes {"metas":[…], …}.
func (e *PresenceEntry) UnmarshalJSON(b []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	var metas []json.RawMessage
	if raw, ok := fields["metas"]; ok {
		if err := json.Unmarshal(raw, &metas); err != nil {
			return err
		}
		delete(fields, "metas")
	}
	e.Metas = make([]PresenceMeta, len(metas))
	for i, raw := range metas {
		var refs struct {
			Ref     string `json:"phx_ref"`
			PrevRef string `json:"phx_ref_prev"`
		}
		if err := json.Unmarshal(raw, &refs); err != nil {
			return err
		}
		e.Metas[i] = PresenceMeta{Ref: refs.Ref, PrevRef: refs.PrevRef, Data: raw}
	}
	if len(fields) > 0 {
		e.Extra = fields
	}
	return nil
}

// PresenceState is a topic's presences by key (a presence_state payload).
type PresenceState map[string]*PresenceEntry

// PresenceDiff is a presence_diff payload.
type PresenceDiff struct {
	Joins  PresenceState `json:"joins"`
	Leaves PresenceState `json:"leaves"`
}

// PresenceJoinFunc is told that joined's metas joined key; current is
// what key had before (nil when it was absent).
type PresenceJoinFunc func(key string, current, joined *PresenceEntry)

// PresenceLeaveFunc is told that left's metas left key; current is what
// key keeps (no metas when it is gone).
type PresenceLeaveFunc func(key string, current, left *PresenceEntry)

// SyncState merges a full presence_state into state, as phoenix.js's
// Presence.syncState: keys and metas missing from newState leave, new ones
// join, and the callbacks (either may be nil) are told. It returns the new
// state; state is not modified.
func SyncState(state, newState PresenceState, onJoin PresenceJoinFunc, onLeave PresenceLeaveFunc) PresenceState {
	joins, leaves := PresenceState{}, PresenceState{}
	for key, cur := range state {
		if newState[key] == nil {
			leaves[key] = cur
		}
	}
	for key, np := range newState {
		cur := state[key]
		if cur == nil {
			joins[key] = np
			continue
		}
		newRefs, curRefs := np.refs(), cur.refs()
		var joined, left []PresenceMeta
		for _, m := range np.Metas {
			if !curRefs[m.Ref] {
				joined = append(joined, m)
			}
		}
		for _, m := range cur.Metas {
			if !newRefs[m.Ref] {
				left = append(left, m)
			}
		}
		if len(joined) > 0 {
			j := np.clone()
			j.Metas = joined
			joins[key] = j
		}
		if len(left) > 0 {
			l := cur.clone()
			l.Metas = left
			leaves[key] = l
		}
	}
	return SyncDiff(state, PresenceDiff{Joins: joins, Leaves: leaves}, onJoin, onLeave)
}

// SyncDiff applies a presence_diff to state, as phoenix.js's
// Presence.syncDiff: joins first (a key's metas not in the join are kept
// before it), then leaves (a key without metas is removed). It returns the
// new state; state is not modified.
func SyncDiff(state PresenceState, diff PresenceDiff, onJoin PresenceJoinFunc, onLeave PresenceLeaveFunc) PresenceState {
	out := make(PresenceState, len(state))
	for k, e := range state {
		out[k] = e.clone()
	}
	for _, key := range slices.Sorted(maps.Keys(diff.Joins)) {
		np := diff.Joins[key]
		cur := out[key]
		next := np.clone()
		if cur != nil {
			joined := next.refs()
			var kept []PresenceMeta
			for _, m := range cur.Metas {
				if !joined[m.Ref] {
					kept = append(kept, m)
				}
			}
			next.Metas = append(kept, next.Metas...)
		}
		out[key] = next
		if onJoin != nil {
			onJoin(key, cur.clone(), np.clone())
		}
	}
	for _, key := range slices.Sorted(maps.Keys(diff.Leaves)) {
		lp := diff.Leaves[key]
		cur := out[key]
		if cur == nil {
			continue
		}
		gone := lp.refs()
		cur.Metas = slices.DeleteFunc(cur.Metas, func(m PresenceMeta) bool { return gone[m.Ref] })
		if onLeave != nil {
			onLeave(key, cur.clone(), lp.clone())
		}
		if len(cur.Metas) == 0 {
			delete(out, key)
		}
	}
	return out
}

// PresenceOptions configure a [Presence]. The zero value listens to
// Phoenix's default events.
type PresenceOptions struct {
	// StateEvent and DiffEvent name the events (default "presence_state"
	// and "presence_diff").
	StateEvent, DiffEvent string
	// OnJoin, OnLeave and OnSync are called as phoenix.js calls its
	// Presence's callbacks, on the Socket's callback goroutine.
	OnJoin  PresenceJoinFunc
	OnLeave PresenceLeaveFunc
	OnSync  func()
}

// Presence mirrors the presences of a channel's topic like phoenix.js's
// Presence: diffs received before the presence_state of the current join
// are held and applied after it. Create it before joining the channel.
type Presence struct {
	ch   *Channel
	opts PresenceOptions
	offs []func()

	mu      sync.Mutex
	state   PresenceState
	pending []PresenceDiff
	joinRef string // of the last presence_state
}

// NewPresence starts mirroring ch's presences.
func NewPresence(ch *Channel, opts PresenceOptions) *Presence {
	if opts.StateEvent == "" {
		opts.StateEvent = "presence_state"
	}
	if opts.DiffEvent == "" {
		opts.DiffEvent = "presence_diff"
	}
	p := &Presence{ch: ch, opts: opts, state: PresenceState{}}
	p.offs = append(p.offs,
		ch.On(opts.StateEvent, p.onState),
		ch.On(opts.DiffEvent, p.onDiff))
	return p
}

func (p *Presence) onState(m Message) {
	var st PresenceState
	if err := m.Decode(&st); err != nil {
		p.ch.s.log.Warn("phoenix client: presence_state not decodable", "topic", p.ch.topic, "err", err)
		return
	}
	var calls []func()
	onJoin, onLeave := p.deferred(&calls)
	p.mu.Lock()
	p.joinRef = m.JoinRef
	if p.joinRef == "" {
		p.joinRef = p.ch.JoinRef()
	}
	p.state = SyncState(p.state, st, onJoin, onLeave)
	for _, d := range p.pending {
		p.state = SyncDiff(p.state, d, onJoin, onLeave)
	}
	p.pending = nil
	p.mu.Unlock()
	p.run(calls)
}

func (p *Presence) onDiff(m Message) {
	var d PresenceDiff
	if err := m.Decode(&d); err != nil {
		p.ch.s.log.Warn("phoenix client: presence_diff not decodable", "topic", p.ch.topic, "err", err)
		return
	}
	var calls []func()
	onJoin, onLeave := p.deferred(&calls)
	p.mu.Lock()
	if p.joinRef == "" || p.joinRef != p.ch.JoinRef() {
		p.pending = append(p.pending, d)
		p.mu.Unlock()
		return
	}
	p.state = SyncDiff(p.state, d, onJoin, onLeave)
	p.mu.Unlock()
	p.run(calls)
}

// deferred returns callbacks that record the user's callbacks into calls,
// so they run after the lock is released (and may call List).
func (p *Presence) deferred(calls *[]func()) (PresenceJoinFunc, PresenceLeaveFunc) {
	var onJoin PresenceJoinFunc
	var onLeave PresenceLeaveFunc
	if f := p.opts.OnJoin; f != nil {
		onJoin = func(key string, cur, joined *PresenceEntry) {
			*calls = append(*calls, func() { f(key, cur, joined) })
		}
	}
	if f := p.opts.OnLeave; f != nil {
		onLeave = func(key string, cur, left *PresenceEntry) {
			*calls = append(*calls, func() { f(key, cur, left) })
		}
	}
	return onJoin, onLeave
}

func (p *Presence) run(calls []func()) {
	for _, c := range calls {
		c()
	}
	if p.opts.OnSync != nil {
		p.opts.OnSync()
	}
}

// List returns a copy of the current presences.
func (p *Presence) List() PresenceState {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(PresenceState, len(p.state))
	for k, e := range p.state {
		out[k] = e.clone()
	}
	return out
}

// Stop stops listening to the channel's events.
func (p *Presence) Stop() {
	for _, off := range p.offs {
		off()
	}
}
