package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seance-go/seance/cluster"
)

// SnapshotOptions configure a [SnapshotStore].
type SnapshotOptions struct {
	// Client is the Redis client (required); it may be the one of the
	// PubSub's Options and is never closed by the store.
	Client goredis.UniversalClient
	// Namespace prefixes the keys (default "seance"): the snapshot of name
	// is the hash "<namespace>:snapshot:{<name>}" (fields t, v, d).
	Namespace string
	// TTL is how long a snapshot is kept after its last write (default
	// 24h).
	TTL time.Duration
}

// SnapshotStore is a cluster.SnapshotStore on Redis: one hash per name,
// written by a script that keeps the snapshot of the greatest fencing
// token.
type SnapshotStore struct {
	opts SnapshotOptions
}

var _ cluster.SnapshotStore = (*SnapshotStore)(nil)

// NewSnapshotStore returns a SnapshotStore on opts.Client.
func NewSnapshotStore(opts SnapshotOptions) (*SnapshotStore, error) {
	if opts.Client == nil {
		return nil, errors.New("redis: SnapshotOptions.Client is required")
	}
	if opts.Namespace == "" {
		opts.Namespace = "seance"
	}
	if opts.TTL <= 0 {
		opts.TTL = 24 * time.Hour
	}
	return &SnapshotStore{opts: opts}, nil
}

func (s *SnapshotStore) key(name string) string {
	return s.opts.Namespace + ":snapshot:{" + name + "}"
}

// saveScript: KEYS[1] the snapshot; ARGV token, version, data, TTL in ms.
// A stored snapshot of a greater token stays.
var saveScript = goredis.NewScript(`
local t = redis.call("HGET", KEYS[1], "t")
if t and tonumber(t) > tonumber(ARGV[1]) then return 0 end
redis.call("HSET", KEYS[1], "t", ARGV[1], "v", ARGV[2], "d", ARGV[3])
redis.call("PEXPIRE", KEYS[1], ARGV[4])
return 1
`)

// Save implements cluster.SnapshotStore.
func (s *SnapshotStore) Save(ctx context.Context, name string, snap cluster.Snapshot) error {
	err := saveScript.Run(ctx, s.opts.Client, []string{s.key(name)}, strconv.FormatUint(snap.Token, 10), snap.Version, snap.Data, s.opts.TTL.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("redis: snapshot of %q: %w", name, err)
	}
	return nil
}

// Load implements cluster.SnapshotStore.
func (s *SnapshotStore) Load(ctx context.Context, name string) (cluster.Snapshot, bool, error) {
	vals, err := s.opts.Client.HMGet(ctx, s.key(name), "t", "v", "d").Result()
	if err != nil {
		return cluster.Snapshot{}, false, fmt.Errorf("redis: snapshot of %q: %w", name, err)
	}
	t, _ := vals[0].(string)
	v, _ := vals[1].(string)
	d, _ := vals[2].(string)
	if t == "" {
		return cluster.Snapshot{}, false, nil
	}
	token, err1 := strconv.ParseUint(t, 10, 64)
	version, err2 := strconv.Atoi(v)
	if err1 != nil || err2 != nil {
		return cluster.Snapshot{}, false, fmt.Errorf("redis: malformed snapshot of %q", name)
	}
	return cluster.Snapshot{Token: token, Version: version, Data: []byte(d)}, true, nil
}
