// Package mvcc owns MetaStore's multi-version key space: revisions, the
// in-memory key index, write transactions, the host-side write buffer and
// value cache, compaction and the key-value hash used for cross-member
// checks.
//
// Semantics follow etcd's storage/mvcc package exactly: every write
// transaction that changes something gets the next main revision, each
// change in it the next sub revision; a deleted key leaves a tombstone that
// ends its generation; ranges read at a revision see only live keys;
// compaction at revision R keeps, for every key, its latest revision not
// after R (dropping it only when it is a tombstone older than R) and
// everything newer.
//
// Data lives in a storage.Engine in two namespaces: "key" maps revision
// bytes (8-byte big-endian main, '_', 8-byte big-endian sub, and a trailing
// 't' for a tombstone) to a protobuf mvccpb.KeyValue, and "meta" holds the
// scheduled and finished compaction revisions. Writes reach the engine
// through a write buffer flushed as one atomic batch together with the
// consistent index (the last applied raft index); the raft log, not the
// engine, is the durability source for anything not yet flushed.
//
// Reads never block on the writer: the key index answers which revision of
// each key is visible at a revision, and values come from the write buffer,
// a cache keyed by revision (evicting by the clock algorithm), or one
// engine GetMany per range.
// Keys-only and count-only ranges never touch the engine.
//
// Its ~3,900 lines in 24 files are one job, keeping the revisions of every
// key and reading them back at any revision. One part could stand apart:
// the watch hub (watch*.go) reads the store through a narrow view and is
// the first candidate for a package of its own, should the package grow.
//
// This package imports only pluginapi/storage of MetaStore's packages; it
// knows nothing of raft, gRPC or leases beyond the lease ID stored on a key.
package mvcc
