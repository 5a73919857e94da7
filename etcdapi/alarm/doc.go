// Package alarm holds the cluster's active alarms (NOSPACE, CORRUPT, ...)
// as the applier raises and clears them in log order, persisted in the
// engine's Namespace and loaded at start and after a snapshot. Proposing
// an alarm, and what a raised alarm refuses, are the server's and the
// applier's.
//
// It imports mvcc of MetaStore's packages and etcd's protos, never gRPC
// server code, raft, host or etcdapi itself.
package alarm
