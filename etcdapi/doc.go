// Package etcdapi serves the etcd v3 gRPC API: it turns each call into a
// validated, authorized read or raft proposal over the domain packages and
// answers it as etcd does, error codes included.
//
// Domain state machines live in packages of their own under etcdapi
// (alarm, auth, lease, membership), KV execution in txn, quota admission
// in admission, auto-compaction in compactor, the corruption checks in
// corruption, the watch protocol of a stream in watch, the snapshot file
// format in snapfile, and the state machine that applies committed
// entries to them all in apply. This package serves them: the six services as
// adapters, request validation, proposing and waiting, forwarding,
// interceptors, and the mapping of errors to etcd's.
//
// That one job is still about 3,500 lines in 33 files, over what one
// package should hold: the six services share the proposal, forwarding and auth
// plumbing, and giving each service a package would export that plumbing
// to all of them. The Watch service needs none of it, so its protocol
// left for watch, and watch.go is its adapter. Each other service keeps
// to its files (kv.go, lease*.go, cluster*.go, maintenance*.go,
// auth_service.go).
//
// It imports its domain packages, mvcc and pluginapi of MetaStore's
// packages, never raft or host: the raft node is reached through the Raft
// interface declared here.
package etcdapi
