package livestate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/seance-go/seance/cluster"
)

// SnapshotOptions tune the snapshots a shared topic's owner stores with
// [Config].SharedSnapshots. Zero values take the defaults.
type SnapshotOptions struct {
	// Every stores the state after at most this many updates (default
	// 100).
	Every int
	// Interval stores the state at most this long after an update that
	// is not in a snapshot yet (default 1s).
	Interval time.Duration
	// MaxBytes bounds a snapshot (the state's JSON), stored or loaded: a
	// bigger state is not stored (logged), a bigger snapshot not loaded
	// (default 1 MiB).
	MaxBytes int
}

func (o *SnapshotOptions) defaults() {
	if o.Every <= 0 {
		o.Every = 100
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 20
	}
}

// snapshots is a topic's snapshot writing, on its owner (guarded by ts.mu).
type snapshots struct {
	unsaved int               // updates not in a snapshot yet
	timer   *time.Timer       // stores them after Interval
	pending *cluster.Snapshot // for the writer
	writing bool              // a writer goroutine runs
	idle    chan struct{}     // closed when it ends
}

// snapshotted counts an update of the owner and stores the state when
// Every updates are unsaved, or Interval after the first. Called with
// ts.mu held; never waits for the store.
func (h *sharedHandler[S]) snapshotted(ts *topicState[S]) {
	if h.cl == nil || h.cl.snaps == nil || !ts.role.owner {
		return
	}
	ts.snap.unsaved++
	o := &h.cl.snapOpts
	if ts.snap.unsaved >= o.Every {
		h.snapshot(ts)
		return
	}
	if ts.snap.timer == nil {
		var t *time.Timer
		t = time.AfterFunc(o.Interval, func() {
			ts.mu.Lock()
			defer ts.mu.Unlock()
			if ts.snap.timer != t {
				return
			}
			ts.snap.timer = nil
			if ts.role.owner && ts.ready && ts.snap.unsaved > 0 {
				h.snapshot(ts)
			}
		})
		ts.snap.timer = t
	}
}

// takeSnapshot returns the current state as a snapshot (false when it is
// too big) and counts it saved. Called with ts.mu held.
func (h *sharedHandler[S]) takeSnapshot(ts *topicState[S]) (cluster.Snapshot, bool) {
	ts.snap.unsaved = 0
	if ts.snap.timer != nil {
		ts.snap.timer.Stop()
		ts.snap.timer = nil
	}
	data, err := ts.sync.full(&ts.state)
	if err != nil {
		ts.ep.Logger().Error("livestate: shared state not snapshotted", "topic", ts.name, "error", err)
		return cluster.Snapshot{}, false
	}
	if len(data) > h.cl.snapOpts.MaxBytes {
		ts.ep.Logger().Warn("livestate: shared state bigger than SharedSnapshot.MaxBytes not snapshotted", "topic", ts.name, "bytes", len(data), "max", h.cl.snapOpts.MaxBytes)
		return cluster.Snapshot{}, false
	}
	return cluster.Snapshot{Token: ts.role.lease.Token, Version: ts.sync.version, Data: bytes.Clone(data)}, true
}

// snapshot hands the current state to the topic's writer goroutine
// (started when none runs). Called with ts.mu held.
func (h *sharedHandler[S]) snapshot(ts *topicState[S]) {
	s, ok := h.takeSnapshot(ts)
	if !ok {
		return
	}
	ts.snap.pending = &s
	if !ts.snap.writing {
		ts.snap.writing = true
		idle := make(chan struct{})
		ts.snap.idle = idle
		go h.writeSnapshots(ts, idle)
	}
}

// writeSnapshots stores the pending snapshots of the topic, the latest
// only, until none is left.
func (h *sharedHandler[S]) writeSnapshots(ts *topicState[S], idle chan struct{}) {
	defer close(idle)
	for {
		ts.mu.Lock()
		s := ts.snap.pending
		ts.snap.pending = nil
		if s == nil {
			ts.snap.writing = false
			ts.mu.Unlock()
			return
		}
		ts.mu.Unlock()
		h.saveSnapshot(ts.name, *s, ts)
	}
}

// saveSnapshot stores s, bounded by the lease TTL; a failure is logged.
func (h *sharedHandler[S]) saveSnapshot(topic string, s cluster.Snapshot, ts *topicState[S]) {
	ctx, cancel := context.WithTimeout(context.Background(), h.cl.leaser.TTL())
	defer cancel()
	if err := h.cl.snaps.Save(ctx, leaseName(topic), s); err != nil {
		ts.ep.Logger().Warn("livestate: shared state snapshot not stored", "topic", topic, "error", err)
	}
}

// loadSnapshot returns the topic's last snapshot, decoded; ok is false
// when there is none (or it cannot be used: logged). Called with ts.mu
// held, by a new owner instead of Init.
func (h *sharedHandler[S]) loadSnapshot(ctx context.Context, ts *topicState[S]) (state S, version int, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, h.cl.leaser.TTL())
	defer cancel()
	s, ok, err := h.cl.snaps.Load(ctx, leaseName(ts.name))
	switch {
	case err != nil:
	case !ok:
		return state, 0, false
	case len(s.Data) > h.cl.snapOpts.MaxBytes:
		err = errors.New("bigger than SharedSnapshot.MaxBytes")
	default:
		err = json.Unmarshal(s.Data, &state)
	}
	if err != nil {
		ts.ep.Logger().Warn("livestate: shared state snapshot not loaded; Init runs", "topic", ts.name, "error", err)
		var zero S
		return zero, 0, false
	}
	return state, s.Version, true
}
