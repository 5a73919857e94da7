// Package host is the metastore process: configuration (flags, environment
// and config file through koanf), the storage engine catalog, the wiring of
// engine, MVCC store, raft node and API, the client listeners, and the life
// cycle from start to graceful stop.
//
// host may import every MetaStore package; nothing imports host but cmd.
package host
