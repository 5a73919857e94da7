// Package txn executes etcd's KV requests against the MVCC store as etcd
// does: a Range with its sort orders, revision filters and limits (Range),
// and a Txn in three steps: every compare evaluated against the state
// before it, nested txns included, fixing the path it takes (Path); every
// error that path would meet found before anything is written (Check); then
// its ops run in order, each seeing the writes of the ones before (Execute).
// A txn of ranges only runs without raft at one pinned revision
// (ReadOnly). Put and DeleteRange travel as one-op txns, so there is one
// write path.
//
// Checking a request's shape (empty keys, op counts, conflicting writes)
// is the server's, before it proposes; this package runs what was
// committed. It imports mvcc of MetaStore's packages and etcd's protos,
// never gRPC server code, raft, host or etcdapi itself.
package txn
