// Package e2e holds MetaStore's end-to-end tests: the real metastore binary
// driven by the real etcdctl and clientv3. Most tests are differential: the
// same script runs against MetaStore and against the real etcd server, both
// started fresh, and their outputs must agree once member and cluster IDs,
// raft terms and raft indexes are masked.
package e2e
