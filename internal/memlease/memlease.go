// Package memlease is an in-memory cluster.Leaser (and
// cluster.SnapshotStore) for tests of several nodes in one process.
package memlease

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/seance-go/seance/cluster"
)

// Leaser is an in-memory cluster.Leaser for tests of several nodes in one
// process; Kill makes a holder's calls fail, as for a dead node.
type Leaser struct {
	ttl    time.Duration
	mu     sync.Mutex
	leases map[string]held
	token  uint64
	dead   map[string]bool
}

type held struct {
	cluster.Lease
	expires time.Time
}

// New returns a Leaser whose leases last ttl.
func New(ttl time.Duration) *Leaser {
	return &Leaser{ttl: ttl, leases: map[string]held{}, dead: map[string]bool{}}
}

// Kill makes every call of holder fail from now on, as for a dead node.
func (m *Leaser) Kill(holder string) {
	m.mu.Lock()
	m.dead[holder] = true
	m.mu.Unlock()
}

// Expire ends the current lease of name at once, as if its TTL had
// passed without renewal.
func (m *Leaser) Expire(name string) {
	m.mu.Lock()
	delete(m.leases, name)
	m.mu.Unlock()
}

// TTL implements cluster.Leaser.
func (m *Leaser) TTL() time.Duration { return m.ttl }

func (m *Leaser) current(name string) (held, bool) {
	l, ok := m.leases[name]
	if ok && time.Now().After(l.expires) {
		delete(m.leases, name)
		return held{}, false
	}
	return l, ok
}

// Acquire implements cluster.Leaser.
func (m *Leaser) Acquire(ctx context.Context, name, holder string) (cluster.Lease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead[holder] {
		return cluster.Lease{}, errors.New("dead")
	}
	if l, ok := m.current(name); ok {
		if l.Holder != holder {
			return l.Lease, cluster.ErrHeld
		}
		l.expires = time.Now().Add(m.ttl)
		m.leases[name] = l
		return l.Lease, nil
	}
	m.token++
	l := held{cluster.Lease{Name: name, Holder: holder, Token: m.token}, time.Now().Add(m.ttl)}
	m.leases[name] = l
	return l.Lease, nil
}

// Renew implements cluster.Leaser.
func (m *Leaser) Renew(ctx context.Context, lease cluster.Lease) (cluster.Lease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead[lease.Holder] {
		return lease, errors.New("dead")
	}
	l, ok := m.current(lease.Name)
	if !ok || l.Token != lease.Token {
		return lease, cluster.ErrLost
	}
	l.expires = time.Now().Add(m.ttl)
	m.leases[lease.Name] = l
	return lease, nil
}

// Release implements cluster.Leaser.
func (m *Leaser) Release(ctx context.Context, lease cluster.Lease) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead[lease.Holder] {
		return errors.New("dead")
	}
	l, ok := m.current(lease.Name)
	if !ok || l.Token != lease.Token {
		return cluster.ErrLost
	}
	delete(m.leases, lease.Name)
	return nil
}

// Get implements cluster.Leaser.
func (m *Leaser) Get(ctx context.Context, name string) (cluster.Lease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, _ := m.current(name)
	l.Name = name
	return l.Lease, nil
}

// Watch implements cluster.Leaser.
func (m *Leaser) Watch(ctx context.Context, name string) (<-chan cluster.Lease, error) {
	return cluster.PollWatch(ctx, name, m.ttl/10, m.Get), nil
}

// Snapshots is an in-memory cluster.SnapshotStore for tests of several
// nodes in one process.
type Snapshots struct {
	mu    sync.Mutex
	snaps map[string]cluster.Snapshot
	saves int
}

// NewSnapshots returns an empty store.
func NewSnapshots() *Snapshots { return &Snapshots{snaps: map[string]cluster.Snapshot{}} }

// Save implements cluster.SnapshotStore.
func (s *Snapshots) Save(ctx context.Context, name string, snap cluster.Snapshot) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.snaps[name]; ok && cur.Token > snap.Token {
		return nil
	}
	snap.Data = append([]byte(nil), snap.Data...)
	s.snaps[name] = snap
	s.saves++
	return nil
}

// Load implements cluster.SnapshotStore.
func (s *Snapshots) Load(ctx context.Context, name string) (cluster.Snapshot, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, ok := s.snaps[name]
	return snap, ok, nil
}

// Saves returns how many snapshots were stored.
func (s *Snapshots) Saves() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saves
}
