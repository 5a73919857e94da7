// Package lease owns etcd's leases as a state machine: the Lessor holds
// every lease and the keys attached to it, applies grants, revocations,
// checkpoints and key attachments from the raft log in order, and, on the
// leader only (the primary lessor), counts lease time, renews leases on
// keepalives and chooses the leases to revoke or checkpoint. It persists
// leases through mvcc's meta writes (Namespace) and rebuilds them at start
// (Load). See lessor.go for the TTL rules across restarts and leader
// changes.
//
// It imports mvcc, pluginapi and etcd's protos of MetaStore's and etcd's
// packages; never gRPC server code, raft, host or etcdapi itself. Proposing
// through raft is the caller's: the checkpointer is handed a propose
// function.
package lease
