// Package metrics is a member's Prometheus registry: etcd's metric names
// and labels, read from the parts of the member it is handed (Sources),
// never from the member itself.
//
// It covers the server, disk, mvcc and lease gauges read at scrape time,
// the WAL, commit and apply timings, leader changes and late heartbeats,
// the peer network counters and round-trip probes, snapshot transfers,
// the client traffic (requests by API version, payload bytes, KV and
// lease calls), health checks, feature gates and file descriptors.
//
// metrics may import raft, mvcc and etcdapi for the parts it reads; never
// host.
package metrics
