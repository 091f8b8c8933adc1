package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/seance-go/seance/cluster"
)

// SnapshotOptions configure a [SnapshotStore].
type SnapshotOptions struct {
	// Conn is the NATS connection (required, to a server with
	// JetStream); it is never closed by the store.
	Conn *natsgo.Conn
	// Bucket is the JetStream KV bucket of the snapshots (default
	// "seance_snapshots"), created if missing.
	Bucket string
	// TTL is how long a snapshot is kept after its last write (default
	// 24h; the bucket's TTL).
	TTL time.Duration
	// MaxValueSize bounds a stored snapshot in bytes (default 1 MiB, the
	// bucket's max value size; bounded by the server's max payload).
	MaxValueSize int32
}

// SnapshotStore is a cluster.SnapshotStore on a JetStream KV bucket: one
// key per name, updated with compare-and-set on its revision so that the
// snapshot of the greatest fencing token stays.
type SnapshotStore struct {
	kv jetstream.KeyValue
}

var _ cluster.SnapshotStore = (*SnapshotStore)(nil)

// NewSnapshotStore creates (or updates) the bucket and returns the store.
func NewSnapshotStore(ctx context.Context, opts SnapshotOptions) (*SnapshotStore, error) {
	if opts.Conn == nil {
		return nil, errors.New("nats: SnapshotOptions.Conn is required")
	}
	if opts.Bucket == "" {
		opts.Bucket = "seance_snapshots"
	}
	if opts.TTL <= 0 {
		opts.TTL = 24 * time.Hour
	}
	if opts.MaxValueSize <= 0 {
		opts.MaxValueSize = 1 << 20
	}
	js, err := jetstream.New(opts.Conn)
	if err != nil {
		return nil, err
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:       opts.Bucket,
		Description:  "Seance shared-state snapshots",
		History:      1,
		TTL:          opts.TTL,
		MaxValueSize: opts.MaxValueSize,
	})
	if err != nil {
		return nil, fmt.Errorf("nats: snapshot bucket %q: %w", opts.Bucket, err)
	}
	return &SnapshotStore{kv: kv}, nil
}

// stored is a snapshot as the bucket holds it.
type stored struct {
	Token   uint64 `json:"t"`
	Version int    `json:"v"`
	Data    []byte `json:"d"`
}

// Save implements cluster.SnapshotStore.
func (s *SnapshotStore) Save(ctx context.Context, name string, snap cluster.Snapshot) error {
	val, err := json.Marshal(stored{snap.Token, snap.Version, snap.Data})
	if err != nil {
		return err
	}
	k := key(name)
	for {
		e, err := s.kv.Get(ctx, k)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			_, err = s.kv.Create(ctx, k, val)
		case err != nil:
			return fmt.Errorf("nats: snapshot of %q: %w", name, err)
		default:
			var cur stored
			if json.Unmarshal(e.Value(), &cur) == nil && cur.Token > snap.Token {
				return nil // a newer owner's
			}
			_, err = s.kv.Update(ctx, k, val, e.Revision())
		}
		if errors.Is(err, jetstream.ErrKeyExists) {
			continue // written meanwhile: compare again
		}
		if err != nil {
			return fmt.Errorf("nats: snapshot of %q: %w", name, err)
		}
		return nil
	}
}

// Load implements cluster.SnapshotStore.
func (s *SnapshotStore) Load(ctx context.Context, name string) (cluster.Snapshot, bool, error) {
	e, err := s.kv.Get(ctx, key(name))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return cluster.Snapshot{}, false, nil
	}
	if err != nil {
		return cluster.Snapshot{}, false, fmt.Errorf("nats: snapshot of %q: %w", name, err)
	}
	var st stored
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return cluster.Snapshot{}, false, fmt.Errorf("nats: malformed snapshot of %q: %w", name, err)
	}
	return cluster.Snapshot{Token: st.Token, Version: st.Version, Data: st.Data}, true, nil
}
