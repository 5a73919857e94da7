// Package rocksdb is a storage engine on RocksDB (through grocksdb, cgo).
// It runs only as a plugin process (cmd/metastore-storage-rocksdb), so that
// the host stays pure Go. An LSM tree reclaims space by compaction in the
// background: the engine needs no Defrag and has no file size ceiling.
//
// All namespaces share one RocksDB database. A key is stored as its
// namespace, escaped so that namespaces keep their bytewise order and no
// namespace is a prefix of another, followed by the key itself. Engine
// metadata (the consistent index and per-namespace key counts) lives under
// a prefix no namespace can produce. Every ApplyBatch is one RocksDB write
// batch, so data, counts and the consistent index change together.
//
// Debian's librocksdb is built with assertions on: the engine sets the
// info-log level explicitly and releases iterators, snapshots and option
// handles before it closes the database.
//
// It imports only pluginapi.
package rocksdb
