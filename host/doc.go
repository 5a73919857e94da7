// Package host is the metastore process: it turns a configuration into a
// running member (storage engine, MVCC store, raft node and API wired
// together, client and peer listeners), runs it from start to graceful
// stop, restarts it when its storage plugin dies, reloads what may change
// live, and runs the subcommands.
//
// Each part it wires is a package of its own, handed what it needs and
// never the member: host/config (the configuration as plain data: flags,
// environment, config file, validation), host/tlsconf (TLS settings to
// crypto/tls), host/plugin (plugin processes under each kind's failure
// policy), host/metrics (the Prometheus collectors, handed the member's
// parts), host/audit (the audit log), host/health (the health endpoints),
// host/httpapi (the client-facing HTTP beside gRPC), host/quotausage (the
// usage of a quota policy's prefixes), host/snapshotcmd (`metastore
// snapshot`) and host/pluginscmd (`metastore plugins`).
//
// What stays here, about 2,800 lines in 26 files, is one job: the
// member's wiring and life cycle. Its files are the member's start and
// stop (member.go, shutdown.go, etcd_datadir.go), its listeners
// (clients.go, peer.go, tls.go, listen*.go), what raft needs of it
// (raftadapter.go, raft_snapshot.go, corrupt.go), its fail stops,
// restarts and reloads (plugin_failstop.go, engine_failstop.go,
// reload*.go), the choice of engine, quota policy and auth provider
// (engines.go, quota.go, auth.go), and the process (main.go, help.go,
// logging.go, memory_limit.go, sdnotify.go, version.go).
//
// host may import every MetaStore package; nothing imports host but cmd.
package host
