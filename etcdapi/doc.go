// Package etcdapi serves the etcd v3 gRPC API on top of the MVCC store and a
// raft log: request validation, proposal and wait, the apply state machine
// that executes committed requests against mvcc, and the mapping of every
// error to the rpctypes value etcd returns.
//
// Domain state machines live in packages of their own under etcdapi
// (alarm, auth, lease, membership), KV execution in txn and quota admission in
// admission; this package ties them together in the applier and serves
// them: the services, proposing and waiting, forwarding, interceptors,
// alarms, maintenance and the applier.
//
// It imports its domain packages, mvcc and pluginapi of MetaStore's
// packages, never raft or host: the raft node is reached through the Raft
// interface declared here.
package etcdapi
