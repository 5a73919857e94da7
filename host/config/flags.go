package config

// unimplementedEtcdFlags are etcd 3.7 flags MetaStore does not implement
// yet. Giving one, or its ETCD_* variable, is an error naming it: silently
// ignoring an operator's setting would be worse than refusing to start.
// With the settings that are not metastoreOnlySettings, they are every
// flag etcd 3.7.3 has (an e2e test holds them to etcd's --help).
var unimplementedEtcdFlags = map[string]bool{
	"listen-client-http-urls": true, "max-snapshots": true, "max-wals": true, "quota-backend-bytes-max": true,
	"backend-batch-limit": true, "backend-batch-interval": true,
	"enable-grpc-gateway": true, "discovery": true, "discovery-fallback": true,
	"discovery-proxy": true, "discovery-srv": true, "discovery-srv-name": true,
	"discovery-endpoints": true, "discovery-token": true,
	"enable-v2": true, "cors": true,
	"host-whitelist": true, "experimental-enable-lease-checkpoint": true, "experimental-compaction-batch-limit": true,
	"experimental-peer-skip-client-san-verification": true,
	"experimental-watch-progress-notify-interval":    true,
	"proxy": true, "experimental-memory-mlock": true, "memory-mlock": true,
	"experimental-snapshot-catchup-entries": true, "downgrade-check-time": true,
	"v2-deprecation":   true,
	"client-cert-file": true, "client-key-file": true, "peer-client-cert-file": true,
	"peer-client-key-file": true, "next-cluster-version-compatible": true,

	"backend-bbolt-freelist-type": true, "bootstrap-defrag-threshold-megabytes": true,
	"client-cert-allowed-hostname": true, "initial-election-tick-advance": true,
	"peer-skip-client-san-verification": true, "raft-read-timeout": true, "raft-write-timeout": true,
	"warning-unary-request-duration": true, "discovery-cacert": true, "discovery-cert": true,
	"discovery-key": true, "discovery-user": true, "discovery-password": true,
	"discovery-dial-timeout": true, "discovery-request-timeout": true,
	"discovery-keepalive-time": true, "discovery-keepalive-timeout": true,
	"discovery-insecure-transport": true, "discovery-insecure-skip-tls-verify": true,
}

// durationSettings are the settings etcd's flags take as Go durations and
// etcd's config file as integer nanoseconds.
var durationSettings = map[string]bool{
	"grpc-keepalive-min-time": true, "grpc-keepalive-interval": true, "grpc-keepalive-timeout": true,
	"corrupt-check-time": true, "compact-hash-check-time": true, "compaction-sleep-interval": true,
	"watch-progress-notify-interval": true, "warning-apply-duration": true,
}

// metastoreOnlySettings are MetaStore's settings that are no etcd flag:
// they have a METASTORE_* variable and no ETCD_* one.
var metastoreOnlySettings = groupKeys(GroupMetaStore)
