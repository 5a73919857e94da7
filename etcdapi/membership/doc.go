// Package membership owns the cluster's member records as a state
// machine: the Cluster holds every member and the IDs removed, validates a
// conf change against them as etcd does when it applies one, applies it
// (record and persistence, in the write of the raft entry), and answers
// the readiness rules of etcd's strict reconfiguration check.
//
// It imports mvcc and etcd's protos of MetaStore's and etcd's packages;
// never gRPC server code, raft, host or etcdapi itself. Deciding when to
// propose a change, and answering the request that proposed it, is
// etcdapi's.
package membership
