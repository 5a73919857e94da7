// Package storage is the published contract between the MetaStore host and a
// storage engine: the Engine interface, its plain request and response
// structs, the sentinel errors an engine returns, and the engine-neutral
// snapshot format.
//
// An engine is a durable, ordered map of namespaces, each holding byte keys in
// bytewise order. The host owns everything above that: MVCC revisions, the key
// index, the write buffer, raft. An engine never interprets keys or values.
//
// This package imports nothing of MetaStore's; vendors build engines against
// it alone, and prove them with the conformance suite in storagetest.
package storage
