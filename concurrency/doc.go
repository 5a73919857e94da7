// Package concurrency is MetaStore's client SDK for distributed coordination:
// sessions, mutexes, elections, and the recipes people build on them
// (reader/writer locks, semaphores, double barriers, FIFO queues).
//
// Everything here talks to the server only through go.etcd.io/etcd/client/v3,
// so it works against MetaStore and against etcd alike; it must never import
// MetaStore's server packages.
//
// # Protocol
//
// Mutex and Election use the same keys and the same protocol as etcd's own
// go.etcd.io/etcd/client/v3/concurrency package, so that processes using
// either package (or `etcdctl lock` and `etcdctl elect`) exclude each other
// on the same name:
//
//   - A Session is a lease kept alive in the background. Every key a
//     primitive writes for a Session is attached to its lease, so the keys
//     disappear when the Session ends, however it ends.
//   - A contender for name N writes the key N + "/" + <lease id in hex>.
//   - The contender whose key has the lowest create revision owns the lock
//     (or leads the election). Owners are therefore served in the order they
//     asked: the primitives are fair.
//   - A waiter watches the deletion of its predecessor, the key under the
//     same prefix with the highest create revision below its own, and checks
//     again when it goes. Nobody polls, and a release wakes one waiter.
//
// The recipes (RWMutex, Semaphore, DoubleBarrier, Queue) follow the same
// conventions under their own key layouts; they are not part of etcd's
// package and only interoperate with themselves.
//
// # Fencing tokens
//
// A lock protects state inside the store, where IsOwner gives a comparison to
// put in a transaction. Against anything outside the store a lock alone is not
// enough: a holder may pause (a GC pause, a stalled network) past its lease,
// lose the lock, and then write as if it still held it. Mutex.Token and
// Election.Rev return the owner key's create revision, a fencing token: it
// grows with every new owner, so an external resource that remembers the
// highest token it has seen and rejects requests carrying a lower one is safe
// from such stale owners.
//
// # Losing ownership
//
// Ownership lasts as long as the owner's key, and so at most as long as the
// Session. When the lease expires (the process stalled, or could not reach
// the server for a whole TTL), Session.Done is closed, Mutex.Check and
// Election.Check report ErrLockLost or ErrElectionNotLeader, and Unlock
// reports ErrLockLost: the work done since may have overlapped with another
// owner's.
package concurrency
