// Package etcdapi serves the etcd v3 gRPC API on top of the MVCC store and a
// raft log: request validation, proposal and wait, the apply state machine
// that executes committed requests against mvcc, and the mapping of every
// error to the rpctypes value etcd returns.
//
// Domain state machines live in packages of their own under etcdapi
// (auth, lease, membership) and KV execution in txn; this package ties
// them together in the applier and serves them. Quota admission is the
// next to leave for a package of its own, leaving the services, proposing
// and the applier here.
//
// It imports its domain packages, mvcc and pluginapi of MetaStore's
// packages, never raft or host: the raft node is reached through the Raft
// interface declared here.
package etcdapi
