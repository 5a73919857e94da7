// Package hosttest starts real MetaStore processes for end-to-end tests and
// drives them with the real clientv3 and the real etcdctl.
//
// The binaries are found through the environment, which `make test` sets:
//
//	METASTORE_BIN  the metastore binary (`make build` writes bin/metastore)
//	ETCDCTL_BIN    etcdctl v3.7.3 (`make tools` writes bin/etcdctl)
//	ETCD_BIN       the reference etcd server (`make etcd` writes bin/etcd)
//
// A test that needs a binary which is not there fails, naming the make target
// that builds it; it never skips.
//
// Every member listens on free loopback ports, keeps its data under
// t.TempDir(), and is killed, with any process it started, when the test
// ends. Its combined stdout and stderr are logged when the test fails.
//
// For fault tests, WithFaults puts a TCP proxy in front of each member's
// peer listener; Faults.Isolate partitions a member from the others in
// both directions and Faults.Heal ends it. Member.Kill, Restart and Rejoin
// (removed, wiped and added back empty) complete the faults, and the
// linearize subpackage records and checks the clients' history.
package hosttest
