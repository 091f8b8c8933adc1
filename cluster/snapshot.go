package cluster

import "context"

// Snapshot is the state of a name (a shared topic) as its owner last
// stored it in a [SnapshotStore].
type Snapshot struct {
	// Token is the fencing token of the lease under which it was made
	// ([Lease].Token): a store keeps no snapshot over one of a greater
	// token, so a stale owner's late write cannot replace its successor's.
	Token uint64
	// Version is the state's version when it was made.
	Version int
	// Data is the state, encoded by its owner (JSON for livestate).
	Data []byte
}

// SnapshotStore keeps the last [Snapshot] of names in the store the cluster
// already runs (the PubSub adapters' modules implement it on Redis and on
// NATS JetStream KV), so that a name's next owner starts from it instead
// of from scratch. Snapshots expire after a store-defined time without
// writes.
type SnapshotStore interface {
	// Save stores s as name's snapshot, unless the stored one has a
	// greater Token (then Save does nothing and returns nil).
	Save(ctx context.Context, name string, s Snapshot) error
	// Load returns name's snapshot; ok is false when there is none.
	Load(ctx context.Context, name string) (s Snapshot, ok bool, err error)
}
