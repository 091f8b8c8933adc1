// Package cluster holds what the nodes of a deployment share over the
// endpoint's PubSub adapter (phx.Config.PubSub), with no service of its own:
//
//   - [Membership] tells which nodes are alive: heartbeats, up and down
//     events, and a digest each service may add to the heartbeats (presence
//     uses it to converge without resending everything).
//   - [Node] sends a request addressed to one node by name, answered by a
//     handler registered on that node.
//   - [Leaser] grants leases with fencing tokens from the store the cluster
//     already runs (pubsub/redis and pubsub/nats implement it), so that one
//     node at a time acts for a name; [Fence] refuses the words of a stale
//     holder. livestate's shared topics use it to keep one state per topic
//     in the cluster.
//   - [SnapshotStore] keeps the last state of a name in that store too,
//     fenced by the lease's token, so that a new owner of a shared topic
//     starts from it (opt-in).
//
// The long-poll transport uses it so that a cluster needs no sticky
// sessions: a session lives on the node that created it, its token names
// that node, and a request arriving at any other node is relayed to the
// owner and answered with the owner's reply (see longpoll.Options.Cluster).
//
// A relay is only ever on the path of a request that reached the wrong node:
// nothing on a connection's own node waits on the broker. When the owner
// does not answer within Options.RelayTimeout, [Node.Request] fails with
// [ErrUnreachable] and the caller treats the session as gone. With a
// [Membership] as the endpoint's PubSub it fails sooner: at once for a node
// the Membership has declared down, and as soon as the node is declared
// down for a request already waiting for it.
//
// Closing a user's connections everywhere needs no Node: see
// phx.Endpoint.DisconnectID.
package cluster
