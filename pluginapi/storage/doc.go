// Package storage is the published contract between the MetaStore host and a
// storage engine: the Engine interface, its plain request and response
// structs, the sentinel errors an engine returns, and the engine-neutral
// snapshot format.
//
// An engine is a durable, ordered map of namespaces, each holding byte keys in
// bytewise order. The host owns everything above that: MVCC revisions, the key
// index, the write buffer, raft. An engine never interprets keys or values.
//
// The same Engine runs in the host process or in a plugin process. The
// plugin protocol is gRPC (proto/v1) through hashicorp/go-plugin: Serve is
// a plugin binary's whole main, Launch starts one for a host, and the
// client and server shims (NewGRPCClient, NewGRPCServer) turn the plain
// structs to and from protobuf. An error keeps its identity across the
// process boundary: its sentinel travels as a code in the gRPC status and
// the client shim rebuilds it, so errors.Is works the same on both sides. A
// call that fails because the plugin process is gone returns ErrUnavailable.
// Scans and snapshots stream in batches and chunks; one ApplyBatch is one
// message.
//
// This package imports nothing of MetaStore's outside pluginapi; vendors
// build engines against it alone, and prove them with the conformance suite
// in storagetest, in process, through the shims and as a plugin process.
package storage
