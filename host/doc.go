// Package host is the metastore process: configuration (flags, environment
// and config file through koanf), the storage engine catalog, the wiring of
// engine, MVCC store, raft node and API, the client listeners, and the life
// cycle from start to graceful stop.
//
// TLS settings live in host/tlsconf: host maps its flags to a
// tlsconf.Config per kind of URL and listens and dials with what it
// builds. Plugin processes are launched and supervised by host/plugin,
// under each kind's failure policy; host keeps the catalog's validation,
// the choice of built-in or plugin, and the member's fail-stop restart
// after a storage plugin dies. The Prometheus collectors live in
// host/metrics, handed the member's parts (metrics.Sources).
//
// It is still two jobs (about 6,000 lines): configuration as plain data
// is a package to come, leaving the member's wiring and life cycle here.
//
// host may import every MetaStore package; nothing imports host but cmd.
package host
