// Package compactor is etcd's auto-compaction: Parse reads
// --auto-compaction-mode and --auto-compaction-retention as etcd does, and
// a Compactor keeps a period (periodic mode) or a number (revision mode) of
// revisions of history by proposing compactions while this member leads.
//
// It imports mvcc of MetaStore's packages, never gRPC server code, raft,
// host or etcdapi itself: the server hands it the revision, whether the
// member leads, and how to propose a compaction.
package compactor
