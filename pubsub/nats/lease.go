package nats

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/seance-go/seance/cluster"
)

// LeaserOptions configures a [Leaser]. Zero fields take the defaults.
type LeaserOptions struct {
	// Conn is the NATS connection (required); the server must run
	// JetStream. The Leaser never closes it.
	Conn *natsgo.Conn
	// Bucket is the JetStream key-value bucket of the leases (default
	// "seance_leases"), created when missing. Its TTL is the leases' TTL:
	// every node of a cluster must use the same TTL for one bucket.
	Bucket string
	// TTL is how long a lease lasts without renewal (default 3s).
	TTL time.Duration
	// WatchInterval is how often Watch reads the lease (default TTL/10):
	// a key removed by the bucket's TTL leaves no event to watch.
	WatchInterval time.Duration
}

// Leaser is a [cluster.Leaser] on a NATS JetStream key-value bucket whose
// TTL is the lease's: Acquire is a Create (which fails while the key
// exists), Renew an Update that compares the revision, Release a Delete
// that compares it, and the fencing token is the stream revision of the
// Create, which grows across the whole bucket.
type Leaser struct {
	opts LeaserOptions
	kv   jetstream.KeyValue
}

var _ cluster.Leaser = (*Leaser)(nil)

// NewLeaser returns a Leaser for opts, creating or updating its bucket.
func NewLeaser(ctx context.Context, opts LeaserOptions) (*Leaser, error) {
	if opts.Conn == nil {
		return nil, errors.New("nats: LeaserOptions.Conn is required")
	}
	if opts.Bucket == "" {
		opts.Bucket = "seance_leases"
	}
	if opts.TTL <= 0 {
		opts.TTL = 3 * time.Second
	}
	if opts.WatchInterval <= 0 {
		opts.WatchInterval = opts.TTL / 10
	}
	js, err := jetstream.New(opts.Conn)
	if err != nil {
		return nil, err
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      opts.Bucket,
		Description: "Seance leases",
		History:     1,
		TTL:         opts.TTL,
	})
	if err != nil {
		return nil, fmt.Errorf("nats: lease bucket %q: %w", opts.Bucket, err)
	}
	return &Leaser{opts: opts, kv: kv}, nil
}

// TTL implements cluster.Leaser.
func (l *Leaser) TTL() time.Duration { return l.opts.TTL }

// key maps a name (any string) to a valid key.
func key(name string) string { return "l" + base64.RawURLEncoding.EncodeToString([]byte(name)) }

// The value of a lease is "<token> <holder>"; Create writes token 0, which
// stands for the entry's own revision (the Create's) until the first Renew
// writes it out.
func leaseValue(token uint64, holder string) []byte {
	return []byte(strconv.FormatUint(token, 10) + " " + holder)
}

func leaseOf(name string, e jetstream.KeyValueEntry) (cluster.Lease, error) {
	tok, holder, ok := strings.Cut(string(e.Value()), " ")
	t, err := strconv.ParseUint(tok, 10, 64)
	if !ok || err != nil || holder == "" {
		return cluster.Lease{}, fmt.Errorf("nats: malformed lease %q of %q", e.Value(), name)
	}
	if t == 0 {
		t = e.Revision()
	}
	return cluster.Lease{Name: name, Holder: holder, Token: t, Rev: e.Revision()}, nil
}

// Acquire implements cluster.Leaser.
func (l *Leaser) Acquire(ctx context.Context, name, holder string) (cluster.Lease, error) {
	if holder == "" || strings.Contains(holder, " ") {
		return cluster.Lease{}, fmt.Errorf("nats: invalid lease holder %q", holder)
	}
	k := key(name)
	for {
		rev, err := l.kv.Create(ctx, k, leaseValue(0, holder))
		if err == nil {
			return cluster.Lease{Name: name, Holder: holder, Token: rev, Rev: rev}, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return cluster.Lease{}, err
		}
		e, err := l.kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // expired or released meanwhile
		}
		if err != nil {
			return cluster.Lease{}, err
		}
		cur, err := leaseOf(name, e)
		if err != nil {
			return cluster.Lease{}, err
		}
		if cur.Holder != holder {
			return cur, cluster.ErrHeld
		}
		cur, err = l.Renew(ctx, cur)
		if errors.Is(err, cluster.ErrLost) {
			continue
		}
		return cur, err
	}
}

// Renew implements cluster.Leaser.
func (l *Leaser) Renew(ctx context.Context, lease cluster.Lease) (cluster.Lease, error) {
	rev, err := l.kv.Update(ctx, key(lease.Name), leaseValue(lease.Token, lease.Holder), lease.Rev)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) { // wrong last revision
			return lease, cluster.ErrLost
		}
		return lease, err
	}
	lease.Rev = rev
	return lease, nil
}

// Release implements cluster.Leaser.
func (l *Leaser) Release(ctx context.Context, lease cluster.Lease) error {
	err := l.kv.Delete(ctx, key(lease.Name), jetstream.LastRevision(lease.Rev))
	if errors.Is(err, jetstream.ErrKeyExists) {
		return cluster.ErrLost
	}
	return err
}

// Get implements cluster.Leaser.
func (l *Leaser) Get(ctx context.Context, name string) (cluster.Lease, error) {
	e, err := l.kv.Get(ctx, key(name))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return cluster.Lease{Name: name}, nil
	}
	if err != nil {
		return cluster.Lease{}, err
	}
	return leaseOf(name, e)
}

// Watch implements cluster.Leaser by reading the lease every
// WatchInterval.
func (l *Leaser) Watch(ctx context.Context, name string) (<-chan cluster.Lease, error) {
	return cluster.PollWatch(ctx, name, l.opts.WatchInterval, l.Get), nil
}
