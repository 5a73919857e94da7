// Package config is a member's configuration as plain data: it reads
// etcd's flags, METASTORE_* and etcd's ETCD_* environment variables, the
// YAML config file in MetaStore's format or etcd's (koanf), MetaStore's
// short aliases of the flags, and validates the settings and derives the
// rest from them (URL lists, --initial-cluster and the member IDs, TLS
// files and versions, auto-compaction, the corruption checks, the plugin
// catalog).
//
// One table (settings.go) describes every flag: its group, help,
// variables, config file keys and whether it reloads live. The flags'
// help, `metastore --help` (help.go), docs/configuration.md (reference.go)
// and the readable errors of a misspelt flag or a bad value
// (flagerrors.go) all come from it; tests hold it to the flags Load
// registers and the document to the table.
//
// It runs nothing: it opens no listener, starts no plugin and builds no
// logger. Its only reads are the config file, the files settings name
// that must be checked before a start (CRL files, the bundled RocksDB
// plugin's checksum for --storage rocksdb), and the host name for
// --listen :port. host turns a Config into a running member.
//
// The plugin catalog's entry (PluginEntry) and the plugin kinds live here,
// not in host/plugin: the config file declares the entries and Load
// validates them, so they are configuration; host/plugin, which launches
// what an entry describes, imports them. The other way round, the
// configuration would depend on the supervision (go-plugin, gRPC, the
// plugin contracts) it must not run. The names of the built-in
// implementations are kept here for the same reason; host, which links
// them in, holds its implementations to these names in a test.
//
// config imports, of MetaStore, etcdapi/compactor (the auto-compaction
// settings it parses) and host/tlsconf (TLS settings, a leaf) only.
package config
