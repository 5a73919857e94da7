// Package host is the metastore process: the member's wiring of storage
// engine, MVCC store, raft node and API, its client and peer listeners,
// its subcommands, and its life cycle from start to graceful stop.
//
// The configuration is plain data in host/config: flags, environment and
// config file, their validation, and the settings derived from them; host
// turns a config.Config into a running member. TLS settings live in
// host/tlsconf: host maps a Config to a tlsconf.Config per kind of URL
// and listens and dials with what it builds. Plugin processes are
// launched and supervised by host/plugin, under each kind's failure
// policy; host keeps the choice of built-in or plugin and the member's
// fail-stop restart after a storage plugin dies. The Prometheus
// collectors live in host/metrics, handed the member's parts
// (metrics.Sources). The audit log is host/audit's: host opens it and
// hands it the member's own events and the client calls' interceptors.
// host/httpapi serves the client-facing HTTP beside gRPC, handed the
// member's gRPC server, listeners and handlers.
// `metastore snapshot` is host/snapshotcmd's, handed the built-in storage
// engines.
//
// host may import every MetaStore package; nothing imports host but cmd.
package host
