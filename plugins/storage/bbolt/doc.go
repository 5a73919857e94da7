// Package bbolt is the durable default storage engine, built on
// go.etcd.io/bbolt as etcd's own backend is. All data lives in one file,
// <Dir>/db: one bucket per namespace (named "ns/" + namespace) and a "meta"
// bucket holding the consistent index.
//
// Every ApplyBatch is one bbolt read-write transaction, committed with an
// fsync whatever the request's Sync flag says: bbolt cannot sync one commit
// and skip another safely, and a torn bbolt file cannot be replayed from the
// WAL. GetMany, Scan, Stats and Snapshot each run in one read transaction, so
// they see whole batches only. A Scan holds its transaction while its
// callback runs; a callback must not wait for a write.
//
// Damage at rest is never served (checksum.go, opencheck.go): every value
// ends with a CRC-32C of its key and value, checked on every read; before
// bbolt maps the file, Open checks it is not cut short and walks the page
// headers its newest meta page reaches, where bbolt would fault or panic
// beyond a caller's reach. Each is an error wrapping storage.ErrCorrupt that
// names the file.
//
// Defrag copies the live data into a new file while batches keep applying
// (they are journaled in memory meanwhile), replays the journal, and swaps
// the new file in with a rename; reads and writes wait only for that switch.
// Restore builds a new file the same way, so a failed Restore leaves the old
// content in place.
//
// Options (OpenRequest.Options):
//
//	initial-mmap-size  bytes to map at open (default 10 GiB, as etcd); a
//	                   larger map means the file rarely has to be remapped,
//	                   which waits for all read transactions.
//	unsafe-no-fsync    "true": commit without fsync, as etcd's
//	                   --unsafe-no-fsync; a crash of the machine may lose
//	                   or corrupt committed data.
//
// The package imports only pluginapi/storage and third-party libraries.
package bbolt
