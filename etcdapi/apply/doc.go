// Package apply is MetaStore's state machine: the Applier executes
// committed raft entries in log order against the MVCC store and the
// domain state machines (txn for KV requests, auth, lease, membership,
// alarm), each request as one mvcc write in the batch of its raft entry,
// and hands every result to the request waiting on it. The order of the
// steps of one request, and why, is written down at applyRequest.
//
// It ties the domain packages together and imports them, mvcc and
// pluginapi of MetaStore's packages, never gRPC server code, raft, host or
// etcdapi itself: proposing and waiting are the server's.
package apply
