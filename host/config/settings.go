package config

import "strings"

// The settings table: every flag the loader takes, in the groups and the
// order of --help (etcd's groups first, in the order of etcd's help, then
// MetaStore's own). --help, docs/configuration.md and the loader's flags
// all come from it; a test holds it to the flags Load registers.

// Group is a section of --help and of the configuration reference.
type Group struct {
	Name     string
	Settings []Setting
}

// Setting describes one setting of the table.
type Setting struct {
	// Key is the flag's name and, unless FlagOnly, the config file key
	// and the suffix of the environment variables.
	Key string
	// Help says what the setting does, in sentences.
	Help string
	// DefaultText replaces the default value in the help, for settings
	// whose default is derived from others.
	DefaultText string
	// Live says whether a running member applies a change without a
	// restart, and LiveNote when it does so only sometimes.
	Live     Liveness
	LiveNote string
	// FlagOnly settings (the aliases, --config-file, --version) have no
	// config file key; FileOnly ones (the plugin catalog) no flag.
	FlagOnly, FileOnly bool
}

// Liveness says whether a change of a setting applies to a running member
// (on SIGHUP or when the config file changes).
type Liveness int

// Liveness values.
const (
	RestartNeeded Liveness = iota // the member refuses the change and logs it
	Live                          // applied at once
	LiveSometimes                 // applied in the cases LiveNote names
)

// Group names.
const (
	GroupGeneral    = "General"
	GroupMember     = "Member"
	GroupClustering = "Clustering"
	GroupSecurity   = "Security"
	GroupAuth       = "Auth"
	GroupMonitoring = "Profiling and monitoring"
	GroupLogging    = "Logging"
	GroupFeatures   = "Features"
	GroupUnsafe     = "Unsafe"
	GroupMetaStore  = "MetaStore (no etcd equivalent)"
	GroupAliases    = "Short aliases"
)

// settingGroups is the table.
var settingGroups = []Group{
	{GroupGeneral, []Setting{
		{Key: "config-file", FlagOnly: true, Help: "Path to a YAML config file, in MetaStore's format (the flags' keys) or etcd's. " +
			"Unlike etcd, the environment and the flags still apply over it."},
		{Key: "version", FlagOnly: true, Help: "Print the version and exit."},
	}},
	{GroupMember, []Setting{
		{Key: "name", Help: "Human-readable name for this member."},
		{Key: "data-dir", DefaultText: "${name}.metastore", Help: "Path to the data directory."},
		{Key: "wal-dir", DefaultText: "${data-dir}/member/wal", Help: "Path to a dedicated WAL directory."},
		{Key: "snapshot-count", Help: "Number of applied entries between raft snapshots."},
		{Key: "heartbeat-interval", Help: "Time (in milliseconds) of a heartbeat interval."},
		{Key: "election-timeout", Help: "Time (in milliseconds) for an election to time out; at least 5 heartbeat intervals."},
		{Key: "listen-peer-urls", Help: "Comma-separated URLs to listen on for peer traffic."},
		{Key: "listen-client-urls", Help: "Comma-separated URLs to listen on for client traffic (http, https, unix, unixs)."},
		{Key: "quota-backend-bytes", Help: "Raise NOSPACE and refuse writes that grow the store once the storage engine reaches this many bytes " +
			"(0: the 2 GiB default; negative: no quota)."},
		{Key: "max-txn-ops", Help: "Maximum number of operations permitted in a transaction branch."},
		{Key: "max-request-bytes", Help: "Maximum client request size in bytes the server will accept."},
		{Key: "max-concurrent-streams", Help: "Maximum concurrent streams that each client connection can open at a time."},
		{Key: "grpc-keepalive-min-time", Help: "Minimum interval a client should wait before pinging the server."},
		{Key: "grpc-keepalive-interval", Help: "Frequency of server-to-client pings to check if a connection is alive (0 to disable)."},
		{Key: "grpc-keepalive-timeout", Help: "Additional wait before closing a non-responsive connection (0 to disable)."},
		{Key: "socket-reuse-port", Help: "Set SO_REUSEPORT on the listeners, allowing rebinding of a port already in use."},
		{Key: "socket-reuse-address", Help: "Set SO_REUSEADDR on the listeners, allowing binding to an address in TIME_WAIT state."},
		{Key: "feature-gates", Help: "Comma-separated Name=bool server feature gates, as etcd's: InitialCorruptCheck (check the data against " +
			"the peers' before joining the cluster) and CompactHashCheck (the leader checks the hashes compactions took); " +
			"etcd's other gates only at their defaults."},
	}},
	{GroupClustering, []Setting{
		{Key: "initial-advertise-peer-urls", Help: "Comma-separated peer URLs of this member to advertise to the cluster."},
		{Key: "initial-cluster", DefaultText: "${name}=${initial-advertise-peer-urls}", Help: "Initial cluster configuration for bootstrapping, name=peerURL,..."},
		{Key: "initial-cluster-state", Help: "Initial cluster state: new, or existing when adding a member to a running cluster; ignored on restarts."},
		{Key: "initial-cluster-token", Help: "Initial cluster token, part of the cluster and member IDs."},
		{Key: "advertise-client-urls", Help: "Comma-separated client URLs to advertise to the rest of the cluster."},
		{Key: "strict-reconfig-check", Help: "Reject membership changes that could cause quorum loss."},
		{Key: "pre-vote", Help: "Enable the raft Pre-Vote algorithm to prevent disruption when a member that has been partitioned away rejoins the cluster."},
		{Key: "auto-compaction-retention", Help: "Auto-compaction retention: a duration like 30m, or hours, in periodic mode; revisions in revision mode; 0 disables."},
		{Key: "auto-compaction-mode", Help: "Auto-compaction mode: periodic (keep --auto-compaction-retention of time) or revision (keep that many revisions)."},
	}},
	{GroupSecurity, []Setting{
		{Key: "cert-file", Help: "Path to the client server TLS certificate file (for https client URLs)."},
		{Key: "key-file", Help: "Path to the client server TLS key file."},
		{Key: "client-cert-auth", Help: "Require client certificates signed by --trusted-ca-file; their common name is the user of requests without a token."},
		{Key: "client-crl-file", Help: "Path to the certificate revocation list (DER or PEM) whose revoked client certificates https client and metrics URLs refuse."},
		{Key: "trusted-ca-file", Help: "Path to the CA bundle that verifies client certificates."},
		{Key: "auto-tls", Help: "Serve https and unixs client URLs with a generated self-signed certificate when --cert-file is not given."},
		{Key: "peer-cert-file", Help: "Path to the peer TLS certificate file (for https peer URLs, and presented to the peers this member dials)."},
		{Key: "peer-key-file", Help: "Path to the peer TLS key file."},
		{Key: "peer-client-cert-auth", Help: "Require peers to present a certificate signed by --peer-trusted-ca-file."},
		{Key: "peer-trusted-ca-file", Help: "Path to the CA bundle that verifies peers' certificates; peers then need one."},
		{Key: "peer-cert-allowed-cn", Help: "Only accept peer certificates with this common name."},
		{Key: "peer-cert-allowed-hostname", Help: "Only accept peer certificates valid for this host name."},
		{Key: "peer-auto-tls", Help: "Serve https peer URLs with a generated self-signed certificate when --peer-cert-file is not given; peers' certificates are not verified."},
		{Key: "self-signed-cert-validity", Help: "Validity, in years, of the certificates --auto-tls and --peer-auto-tls generate."},
		{Key: "peer-crl-file", Help: "Path to the certificate revocation list (DER or PEM) whose revoked peer certificates https peer URLs refuse."},
		{Key: "cipher-suites", Help: "Comma-separated TLS 1.2 cipher suites (Go names) allowed on client and peer connections (empty: Go's defaults)."},
		{Key: "tls-min-version", Help: "Minimum TLS version of client and peer connections: TLS1.2 or TLS1.3."},
		{Key: "tls-max-version", Help: "Maximum TLS version of client and peer connections: TLS1.2 or TLS1.3 (empty: Go's highest)."},
	}},
	{GroupAuth, []Setting{
		{Key: "auth-token", Help: "Authentication token type: simple, or jwt,pub-key=…,priv-key=…,sign-method=…,ttl=…"},
		{Key: "bcrypt-cost", Help: "Bcrypt cost of password hashes (4 to 31)."},
		{Key: "auth-token-ttl", Help: "Time (in seconds) an unused simple token lives."},
	}},
	{GroupMonitoring, []Setting{
		{Key: "enable-pprof", Help: "Serve runtime profiling data under /debug/pprof/ on the client URLs."},
		{Key: "metrics", Help: "Level of detail of the metrics, basic or extensive; both include the gRPC handling-time histograms etcd adds with extensive."},
		{Key: "listen-metrics-urls", Help: "Comma-separated URLs to serve /metrics and the health endpoints on, besides the client URLs."},
		{Key: "enable-distributed-tracing", Help: "Send OpenTelemetry traces of client requests (gRPC, raft propose to apply, WAL fsync, " +
			"engine flush, plugin calls) over OTLP/gRPC to --distributed-tracing-address."},
		{Key: "distributed-tracing-address", Help: "Address (host:port) of the OpenTelemetry collector, without TLS."},
		{Key: "distributed-tracing-service-name", Help: "Service name of the traces; use the same for every member of a cluster."},
		{Key: "distributed-tracing-instance-id", Help: "Service instance ID of the traces, unique per member (empty: none)."},
		{Key: "distributed-tracing-sampling-rate", Help: "Traces started here to sample, per million requests (0 to 1000000); " +
			"requests whose incoming trace context is sampled are always traced."},
	}},
	{GroupLogging, []Setting{
		{Key: "logger", Help: "Logger implementation: zap."},
		{Key: "log-outputs", Help: "Comma-separated log outputs: default (stderr), stderr, stdout, or file paths."},
		{Key: "log-level", Live: Live, Help: "Log level: debug, info, warn, error, panic or fatal."},
		{Key: "log-format", Help: "Log format: json or console."},
		{Key: "enable-log-rotation", Help: "Rotate the one file of --log-outputs as --log-rotation-config-json says."},
		{Key: "log-rotation-config-json", DefaultText: "etcd's: files of 100 MB, all kept, uncompressed",
			Help: "Log rotation settings as JSON: maxsize (MB), maxage (days), maxbackups, localtime, compress."},
	}},
	{GroupFeatures, []Setting{
		{Key: "corrupt-check-time", Help: "Duration between the leader's checks of the followers' hashes (0s: none)."},
		{Key: "compact-hash-check-time", Help: "Duration between the leader's checks of the compaction hashes, with CompactHashCheck."},
		{Key: "compaction-batch-limit", Help: "Maximum revisions deleted in each compaction batch (0: 1000)."},
		{Key: "watch-progress-notify-interval", Help: "Duration of periodic watch progress notifications."},
		{Key: "warning-apply-duration", Help: "Duration after which applying a request is logged as slow."},
		{Key: "max-learners", Help: "Maximum number of learners the cluster membership may have."},
		{Key: "compaction-sleep-interval", Help: "Sleep between compaction batches."},
		{Key: "snapshot-catchup-entries", Help: "Number of entries a leader keeps after a snapshot for slow followers to catch up from."},
	}},
	{GroupUnsafe, []Setting{
		{Key: "force-new-cluster", Help: "Restart a member that has data as a one-member cluster with the same member and cluster IDs and all " +
			"committed data, removing every other member (recovery from a lost quorum; no effect without data)."},
		{Key: "unsafe-no-fsync", Help: "Disable fsync of the WAL and the storage engine's commits; unsafe, will cause data loss on a crash."},
	}},
	{GroupMetaStore, []Setting{
		{Key: "storage-engine", Help: "Storage engine: bbolt (durable, default), memory, or the name of a storage plugin in the config file's plugins catalog."},
		{Key: "quota-policy", Help: "Quota policy checked after the backend quota: backend-bytes (built in) or the name of a quota plugin in the catalog, such as prefix-quota."},
		{Key: "auth-provider", Live: LiveSometimes, LiveNote: "from one auth plugin of the catalog to another",
			Help: "Auth provider that verifies bearer tokens the member did not issue: etcd (built in) or an auth plugin of the catalog."},
		{Key: "plugins", FileOnly: true, Live: LiveSometimes,
			LiveNote: "except the entry of the storage engine in use, and of the quota plugin in use beyond its config",
			Help:     "The plugin catalog: a list of entries with kind (storage, auth, quota), name, path, sha256 and an optional config; see docs/plugins.md."},
		{Key: "audit-log", Help: "File to append the audit log to, one JSON object per line: authentication, auth, user, role and membership changes, " +
			"alarms, defrag, snapshots, leader moves, compaction and plugin events (empty: none)."},
		{Key: "enable-console", Help: "Serve the web console under /ui/ on the client URLs: cluster, keys, leases, auth, plugins and metrics, " +
			"through the client API with the caller's credentials."},
		{Key: "auto-compaction-check-interval", Help: "How often revision-mode auto-compaction checks the revision (etcd: fixed at 5m)."},
		{Key: "value-cache-bytes", Help: "Bytes of recently read and written values kept in memory (0: 16 MiB; negative: no cache)."},
		{Key: "memory-limit", Help: "Soft memory limit of the Go runtime in bytes (0: GOMEMLIMIT if set, else 90% of the cgroup's memory limit if any; negative: none)."},
		{Key: "gc-heap-floor", Help: "Heap size in bytes up to which the garbage collector lets the heap grow between cycles while the live heap " +
			"is small: by what a quarter second allocates at the recent rate (tuned every tenth of a second), never less than half the live heap (GOGC=50) " +
			"(0: 32 MiB; negative: none, GOGC alone; a GOGC environment variable turns it off)."},
	}},
	{GroupAliases, []Setting{
		{Key: "storage", FlagOnly: true, Help: "Alias of --storage-engine: memory, bbolt, or rocksdb (the RocksDB plugin: the catalog's storage plugin " +
			"named rocksdb, else metastore-storage-rocksdb beside the metastore binary)."},
		{Key: "listen", FlagOnly: true, Help: "Alias of --listen-client-urls and --advertise-client-urls: host:port serves and advertises http://host:port; " +
			":port listens on all interfaces and advertises http://<hostname>:port."},
		{Key: "id", FlagOnly: true, Help: "Alias of --name."},
		{Key: "cluster", FlagOnly: true, Help: "Alias of --initial-cluster: comma-separated [name=]host:port peer addresses (http); a member's name " +
			"defaults to its host, or to host:port when hosts repeat; --id picks this member's entry, whose address it listens on and advertises for peers."},
	}},
}

// Groups returns the settings table, in the order of --help. The caller
// must not modify it.
func Groups() []Group { return settingGroups }

// settingByKey returns the table's setting of key.
func settingByKey(key string) (Setting, string, bool) {
	for _, g := range settingGroups {
		for _, s := range g.Settings {
			if s.Key == key {
				return s, g.Name, true
			}
		}
	}
	return Setting{}, "", false
}

// help returns the help of the flag key.
func help(key string) string {
	s, _, _ := settingByKey(key)
	return s.Help
}

// groupKeys returns the keys of a group's settings.
func groupKeys(name string) map[string]bool {
	out := map[string]bool{}
	for _, g := range settingGroups {
		if g.Name == name {
			for _, s := range g.Settings {
				out[s.Key] = true
			}
		}
	}
	return out
}

// IsLive reports whether a running member applies any change of the
// setting key at once (Live).
func IsLive(key string) bool {
	s, _, _ := settingByKey(key)
	return s.Live == Live
}

// EtcdSetting reports whether key is one of etcd's settings: it then has
// an ETCD_* variable besides its METASTORE_* one.
func (s Setting) EtcdSetting() bool {
	return !s.FlagOnly && !s.FileOnly && !metastoreOnlySettings[s.Key]
}

// EnvVars returns the environment variables that set s.
func (s Setting) EnvVars() []string {
	switch {
	case s.Key == "config-file" || s.EtcdSetting():
		return []string{envVarName(envPrefix, s.Key), envVarName(etcdEnvPrefix, s.Key)}
	case s.FlagOnly || s.FileOnly:
		return nil
	}
	return []string{envVarName(envPrefix, s.Key)}
}

// FileKeys returns the config file keys of s: its key and, when etcd's
// file spells it otherwise, etcd's key.
func (s Setting) FileKeys() []string {
	if s.FlagOnly {
		return nil
	}
	keys := []string{s.Key}
	for _, etcdKey := range sortedKeys(etcdFileKeys) {
		if etcdFileKeys[etcdKey] == s.Key {
			keys = append(keys, etcdKey)
		}
	}
	return keys
}

// envVarName turns data-dir into <prefix>DATA_DIR.
func envVarName(prefix, key string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}
