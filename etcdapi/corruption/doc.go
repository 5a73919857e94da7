// Package corruption runs etcd's data corruption checks for one member:
// the initial check of its hash against its peers' before it joins raft,
// the leader's periodic comparison of the followers' hashes, and the
// leader's check of the hashes its compactions took. It decides who is
// corrupt; raising the CORRUPT alarm through raft, and reaching the peers,
// are handed to it.
//
// It imports mvcc of MetaStore's packages, never gRPC server code, raft,
// host or etcdapi itself.
package corruption
