package config

// flagHelp describes each setting for --help.
var flagHelp = map[string]string{
	"feature-gates":           "comma-separated Name=bool server feature gates, as etcd: InitialCorruptCheck (check the data against the peers' before joining the cluster) and CompactHashCheck (the leader checks the hashes compactions took); etcd's other gates only at their defaults",
	"corrupt-check-time":      "duration between the leader's checks of the followers' hashes (0s: none)",
	"compact-hash-check-time": "duration between the leader's checks of the compaction hashes, with CompactHashCheck",

	"name":                           "human-readable name for this member",
	"data-dir":                       "path to the data directory (default <name>.metastore)",
	"wal-dir":                        "path to a dedicated WAL directory (default <data-dir>/member/wal)",
	"listen-client-urls":             "comma-separated URLs to listen on for client traffic",
	"advertise-client-urls":          "comma-separated client URLs to advertise to the rest of the cluster",
	"listen-peer-urls":               "comma-separated URLs to listen on for peer traffic",
	"initial-advertise-peer-urls":    "comma-separated peer URLs of this member to advertise to the cluster",
	"initial-cluster":                "initial cluster configuration for bootstrapping, name=peerURL,...",
	"initial-cluster-state":          "initial cluster state: new or existing",
	"initial-cluster-token":          "initial cluster token, part of the cluster and member IDs",
	"snapshot-count":                 "number of applied entries between raft snapshots",
	"snapshot-catchup-entries":       "number of entries a leader keeps after a snapshot for slow followers to catch up from",
	"heartbeat-interval":             "time (in milliseconds) of a heartbeat interval",
	"election-timeout":               "time (in milliseconds) for an election to timeout",
	"strict-reconfig-check":          "reject membership changes that could cause quorum loss",
	"force-new-cluster":              "restart a member that has data as a one-member cluster with the same member and cluster IDs and all committed data, removing every other member (recovery from a lost quorum; no effect without data)",
	"max-txn-ops":                    "maximum number of operations permitted in a transaction branch",
	"max-request-bytes":              "maximum client request size in bytes the server will accept",
	"quota-backend-bytes":            "raise NOSPACE and refuse writes that grow the store once the storage engine reaches this many bytes (0: the 2 GiB default; negative: no quota)",
	"quota-policy":                   "quota policy checked after the backend quota: backend-bytes (built in, none else) or the name of a quota plugin in the config file's plugins catalog, such as prefix-quota",
	"log-level":                      "log level: debug, info, warn, error, panic or fatal",
	"logger":                         "logger implementation: zap",
	"log-outputs":                    "comma-separated log outputs: default (stderr), stderr, stdout, or file paths",
	"log-format":                     "log format: json or console",
	"listen-metrics-urls":            "comma-separated URLs to serve /metrics and the health endpoints on, besides the client URLs",
	"storage-engine":                 "storage engine: bbolt (durable, default), memory, or the name of a storage plugin in the config file's plugins catalog",
	"auto-compaction-mode":           "auto-compaction mode: periodic (keep --auto-compaction-retention of time) or revision (keep that many revisions)",
	"auto-compaction-retention":      "auto-compaction retention: a duration like 30m, or hours, in periodic mode, revisions in revision mode; 0 disables",
	"auto-compaction-check-interval": "how often revision-mode auto-compaction checks the revision",
	// A Go duration, such as 10m or 500ms.
	"watch-progress-notify-interval": "duration of periodic watch progress notifications",

	"auth-token":     "authentication token type: simple, or jwt,pub-key=…,priv-key=…,sign-method=…,ttl=…",
	"auth-token-ttl": "time (in seconds) an unused simple token lives",
	"bcrypt-cost":    "bcrypt cost of password hashes (4 to 31)",

	"peer-cert-file":             "path to the peer TLS certificate file (for https peer URLs, and presented to the peers this member dials)",
	"peer-key-file":              "path to the peer TLS key file",
	"peer-trusted-ca-file":       "path to the CA bundle that verifies peers' certificates; peers then need one",
	"peer-client-cert-auth":      "require peers to present a certificate signed by --peer-trusted-ca-file",
	"peer-cert-allowed-cn":       "only accept peer certificates with this common name",
	"peer-cert-allowed-hostname": "only accept peer certificates valid for this host name",
	"auto-tls":                   "serve https and unixs client URLs with a generated self-signed certificate when --cert-file is not given",
	"peer-auto-tls":              "serve https peer URLs with a generated self-signed certificate when --peer-cert-file is not given; peers' certificates are not verified",
	"self-signed-cert-validity":  "validity, in years, of the certificates --auto-tls and --peer-auto-tls generate",
	"client-crl-file":            "path to the certificate revocation list (DER or PEM) whose revoked client certificates https client and metrics URLs refuse",
	"peer-crl-file":              "path to the certificate revocation list (DER or PEM) whose revoked peer certificates https peer URLs refuse",
	"cipher-suites":              "comma-separated TLS 1.2 cipher suites (Go names) allowed on client and peer connections (empty: Go's defaults)",
	"tls-min-version":            "minimum TLS version of client and peer connections: TLS1.2 or TLS1.3",
	"tls-max-version":            "maximum TLS version of client and peer connections: TLS1.2 or TLS1.3 (empty: Go's highest)",

	"cert-file":        "path to the client server TLS certificate file (for https client URLs)",
	"key-file":         "path to the client server TLS key file",
	"trusted-ca-file":  "path to the CA bundle that verifies client certificates",
	"client-cert-auth": "require client certificates signed by --trusted-ca-file; their common name is the user of requests without a token",
	"auth-provider":    "auth provider that verifies bearer tokens the member did not issue: etcd (built in, none else) or an auth plugin of the config file's catalog",
	"audit-log":        "file to append the audit log to, one JSON object per line: authentication, auth, user, role and membership changes, alarms, defrag, snapshots, leader moves, compaction and plugin events (default: none)",

	"max-concurrent-streams":    "maximum concurrent streams that each client connection can open at a time",
	"grpc-keepalive-min-time":   "minimum interval duration that a client should wait before pinging the server",
	"grpc-keepalive-interval":   "frequency duration of server-to-client pings to check if a connection is alive (0 to disable)",
	"grpc-keepalive-timeout":    "additional duration of wait before closing a non-responsive connection (0 to disable)",
	"enable-pprof":              "serve runtime profiling data under /debug/pprof/ on the client URLs",
	"metrics":                   "level of detail of the metrics, basic or extensive; both include the gRPC handling-time histograms etcd adds with extensive",
	"pre-vote":                  "enable the raft Pre-Vote algorithm to prevent disruption when a member that has been partitioned away rejoins the cluster",
	"max-learners":              "maximum number of learners the cluster membership may have",
	"socket-reuse-port":         "set SO_REUSEPORT on the listeners, allowing rebinding of a port already in use",
	"socket-reuse-address":      "set SO_REUSEADDR on the listeners, allowing binding to an address in TIME_WAIT state",
	"unsafe-no-fsync":           "disable fsync of the WAL and the storage engine's commits; unsafe, will cause data loss on a crash",
	"compaction-batch-limit":    "maximum revisions deleted in each compaction batch (0: 1000)",
	"compaction-sleep-interval": "sets the sleep interval between each compaction batch",
	"warning-apply-duration":    "time duration after which a warning is generated if request takes more time",

	"value-cache-bytes": "bytes of recently read and written values kept in memory (0: 16 MiB; negative: no cache)",
	"memory-limit":      "soft memory limit of the Go runtime in bytes (0: GOMEMLIMIT if set, else 90% of the cgroup's memory limit if any; negative: none)",
}

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
	"experimental-watch-progress-notify-interval":    true, "enable-log-rotation": true, "log-rotation-config-json": true,
	"proxy": true, "experimental-memory-mlock": true, "memory-mlock": true,
	"experimental-snapshot-catchup-entries": true, "downgrade-check-time": true,
	"v2-deprecation":   true,
	"client-cert-file": true, "client-key-file": true, "peer-client-cert-file": true,
	"peer-client-key-file": true, "next-cluster-version-compatible": true,
	"distributed-tracing-address": true, "enable-distributed-tracing": true,
	"distributed-tracing-service-name": true, "distributed-tracing-instance-id": true,
	"distributed-tracing-sampling-rate": true,

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
var metastoreOnlySettings = map[string]bool{
	"audit-log": true, "auth-provider": true, "auto-compaction-check-interval": true, "memory-limit": true,
	"quota-policy": true, "storage-engine": true, "value-cache-bytes": true,
}
