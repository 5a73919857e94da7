package config

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/metastore/metastore/etcdapi/compactor"
	"github.com/metastore/metastore/host/tlsconf"
)

// Config is the whole configuration of a member, as plain data: the
// settings and what Load derives from them, no open handles or callbacks,
// so a copy is as good as the original. Field names follow etcd's flags;
// the koanf tags are the keys in the config file, the flag names and,
// upper-cased with dashes as underscores behind METASTORE_ (and ETCD_, for
// etcd's flags), the environment.
type Config struct {
	Name                     string `koanf:"name"`
	DataDir                  string `koanf:"data-dir"`
	WALDir                   string `koanf:"wal-dir"`
	ListenClientURLs         string `koanf:"listen-client-urls"`
	AdvertiseClientURLs      string `koanf:"advertise-client-urls"`
	ListenPeerURLs           string `koanf:"listen-peer-urls"`
	InitialAdvertisePeerURLs string `koanf:"initial-advertise-peer-urls"`
	InitialCluster           string `koanf:"initial-cluster"`
	InitialClusterState      string `koanf:"initial-cluster-state"`
	InitialClusterToken      string `koanf:"initial-cluster-token"`
	SnapshotCount            uint64 `koanf:"snapshot-count"`
	SnapshotCatchUpEntries   uint64 `koanf:"snapshot-catchup-entries"`
	HeartbeatMillis          int    `koanf:"heartbeat-interval"`
	ElectionMillis           int    `koanf:"election-timeout"`
	StrictReconfigCheck      bool   `koanf:"strict-reconfig-check"`
	ForceNewCluster          bool   `koanf:"force-new-cluster"` // restart as a cluster of one
	MaxTxnOps                int    `koanf:"max-txn-ops"`
	MaxRequestBytes          int    `koanf:"max-request-bytes"`
	QuotaBackendBytes        int64  `koanf:"quota-backend-bytes"`
	// QuotaPolicy is backend-bytes or a quota plugin of the catalog.
	QuotaPolicy string `koanf:"quota-policy"`
	LogLevel    string `koanf:"log-level"`
	Logger      string `koanf:"logger"`
	LogOutputs  string `koanf:"log-outputs"`
	LogFormat   string `koanf:"log-format"`
	// EnableLogRotation rotates the one file of LogOutputs as
	// LogRotationConfigJSON says (lumberjack's settings, as etcd).
	EnableLogRotation     bool   `koanf:"enable-log-rotation"`
	LogRotationConfigJSON string `koanf:"log-rotation-config-json"`
	ListenMetricsURLs     string `koanf:"listen-metrics-urls"`
	// EnableDistributedTracing sends OpenTelemetry traces over OTLP/gRPC
	// to DistributedTracingAddress, as etcd's flag of that name.
	EnableDistributedTracing bool `koanf:"enable-distributed-tracing"`
	// DistributedTracingAddress is the collector's host:port.
	DistributedTracingAddress string `koanf:"distributed-tracing-address"`
	// DistributedTracingServiceName is the traces' service.name.
	DistributedTracingServiceName string `koanf:"distributed-tracing-service-name"`
	// DistributedTracingInstanceID is the traces' service.instance.id,
	// unset when empty.
	DistributedTracingInstanceID string `koanf:"distributed-tracing-instance-id"`
	// DistributedTracingSamplingRate is the share of root traces sampled,
	// per million; sampled incoming trace contexts are always followed.
	DistributedTracingSamplingRate int    `koanf:"distributed-tracing-sampling-rate"`
	StorageEngine                  string `koanf:"storage-engine"`
	AutoCompactionMode             string `koanf:"auto-compaction-mode"`
	AutoCompactionRetention        string `koanf:"auto-compaction-retention"`
	// AutoCompactionCheckInterval is how often revision-mode
	// auto-compaction looks at the revision (etcd: fixed at 5m).
	AutoCompactionCheckInterval string `koanf:"auto-compaction-check-interval"`
	// compaction is the auto-compaction the settings above describe
	// (Compaction); the member sets its Observe.
	compaction compactor.Config
	// WatchProgressNotifyInterval is a duration ("10m", "500ms").
	WatchProgressNotifyInterval time.Duration `koanf:"watch-progress-notify-interval"`
	// Plugins is the plugin catalog; only the config file sets it.
	Plugins []PluginEntry `koanf:"plugins"`

	// AuthToken is "simple" or "jwt,pub-key=…,priv-key=…,sign-method=…,ttl=…".
	AuthToken string `koanf:"auth-token"`
	// AuthTokenTTL is the life of an unused simple token, in seconds.
	AuthTokenTTL int `koanf:"auth-token-ttl"`
	BcryptCost   int `koanf:"bcrypt-cost"`

	// Client TLS, as etcd's flags: https client URLs are served with
	// CertFile and KeyFile; TrustedCAFile verifies client certificates,
	// which ClientCertAuth requires and whose common name is then the user
	// of a request without a token.
	CertFile       string `koanf:"cert-file"`
	KeyFile        string `koanf:"key-file"`
	TrustedCAFile  string `koanf:"trusted-ca-file"`
	ClientCertAuth bool   `koanf:"client-cert-auth"`

	// Peer TLS, as etcd's flags: https peer URLs are served with
	// PeerCertFile and PeerKeyFile, which are also the certificate this
	// member presents to the peers it dials; PeerTrustedCAFile verifies
	// the certificates of both sides and, with it or PeerClientCertAuth,
	// a peer needs one. PeerCertAllowedCN or PeerCertAllowedHostname
	// further restrict whose certificates pass.
	PeerCertFile            string `koanf:"peer-cert-file"`
	PeerKeyFile             string `koanf:"peer-key-file"`
	PeerTrustedCAFile       string `koanf:"peer-trusted-ca-file"`
	PeerClientCertAuth      bool   `koanf:"peer-client-cert-auth"`
	PeerCertAllowedCN       string `koanf:"peer-cert-allowed-cn"`
	PeerCertAllowedHostname string `koanf:"peer-cert-allowed-hostname"`
	// AutoTLS and PeerAutoTLS serve https (and unixs) URLs given no
	// certificate with a self-signed one generated under
	// <data-dir>/fixtures, valid SelfSignedCertValidity years.
	AutoTLS                bool `koanf:"auto-tls"`
	PeerAutoTLS            bool `koanf:"peer-auto-tls"`
	SelfSignedCertValidity int  `koanf:"self-signed-cert-validity"`
	// ClientCRLFile and PeerCRLFile revoke certificates of clients and
	// peers; CipherSuites (comma-separated entries), TLSMinVersion and
	// TLSMaxVersion ("TLS1.2", "TLS1.3") apply to client and peer TLS.
	ClientCRLFile string   `koanf:"client-crl-file"`
	PeerCRLFile   string   `koanf:"peer-crl-file"`
	CipherSuites  []string `koanf:"cipher-suites"`
	TLSMinVersion string   `koanf:"tls-min-version"`
	TLSMaxVersion string   `koanf:"tls-max-version"`
	tlsProtocol   tlsconf.Protocol

	// AuthProvider names an auth plugin of the catalog that verifies the
	// bearer tokens the member did not issue; "etcd" or empty: none.
	AuthProvider string `koanf:"auth-provider"`
	// CorruptionConfig holds the corruption check settings.
	CorruptionConfig `koanf:",squash"`
	// ServerConfig holds etcd's server tuning settings.
	ServerConfig `koanf:",squash"`
	// MemoryConfig holds MetaStore's memory settings.
	MemoryConfig `koanf:",squash"`
	// EnableConsole serves the web console under /ui/ on the client URLs.
	EnableConsole bool `koanf:"enable-console"`
	// AuditLog is the file audit records are appended to; "": none.
	AuditLog string `koanf:"audit-log"`
}

// DefaultQuotaBackendBytes is the quota reported when none is set, as etcd.
const DefaultQuotaBackendBytes = 2 << 30

// Defaults returns etcd's defaults of every setting, by key, with
// MetaStore's data dir name and the client URL on 127.0.0.1.
func Defaults() map[string]any {
	d := map[string]any{
		"name":                              "default",
		"data-dir":                          "",
		"wal-dir":                           "",
		"listen-client-urls":                "http://127.0.0.1:2379",
		"advertise-client-urls":             "http://127.0.0.1:2379",
		"listen-peer-urls":                  "http://127.0.0.1:2380",
		"initial-advertise-peer-urls":       "http://127.0.0.1:2380",
		"initial-cluster":                   "",
		"initial-cluster-state":             "new",
		"initial-cluster-token":             "etcd-cluster",
		"snapshot-count":                    uint64(10000),
		"snapshot-catchup-entries":          uint64(5000),
		"heartbeat-interval":                100,
		"election-timeout":                  1000,
		"strict-reconfig-check":             true,
		"force-new-cluster":                 false,
		"max-txn-ops":                       128,
		"max-request-bytes":                 1536 * 1024,
		"quota-backend-bytes":               int64(0),
		"quota-policy":                      BuiltinQuotaPolicy,
		"log-level":                         "info",
		"logger":                            "zap",
		"log-outputs":                       "default",
		"log-format":                        "json",
		"enable-log-rotation":               false,
		"log-rotation-config-json":          DefaultLogRotationConfig,
		"listen-metrics-urls":               "",
		"enable-distributed-tracing":        false,
		"distributed-tracing-address":       "localhost:4317",
		"distributed-tracing-service-name":  "etcd",
		"distributed-tracing-instance-id":   "",
		"distributed-tracing-sampling-rate": 0,
		"storage-engine":                    "bbolt",
		"auto-compaction-mode":              "periodic",
		"auto-compaction-retention":         "0",
		"auto-compaction-check-interval":    "5m",
		// A string, so that the flag, the environment and the file all
		// take Go durations.
		"watch-progress-notify-interval": "10m0s",

		"auth-token":     "simple",
		"auth-token-ttl": 300,
		"bcrypt-cost":    10,

		"peer-cert-file":             "",
		"peer-key-file":              "",
		"peer-trusted-ca-file":       "",
		"peer-client-cert-auth":      false,
		"peer-cert-allowed-cn":       "",
		"peer-cert-allowed-hostname": "",
		"auto-tls":                   false,
		"peer-auto-tls":              false,
		"self-signed-cert-validity":  1,
		"client-crl-file":            "",
		"peer-crl-file":              "",
		"cipher-suites":              "",
		"tls-min-version":            "TLS1.2",
		"tls-max-version":            "",

		"cert-file":        "",
		"key-file":         "",
		"trusted-ca-file":  "",
		"client-cert-auth": false,
		"auth-provider":    "etcd",
		"audit-log":        "",
		"enable-console":   true,
	}
	maps.Copy(d, corruptionDefaults())
	maps.Copy(d, serverDefaults())
	maps.Copy(d, memoryDefaults())
	return d
}

// Derive sets the settings that default from others and are not set:
// the data dir from the name, the WAL dir from the data dir, and the
// initial cluster from the name and the advertised peer URLs.
func (c *Config) Derive() {
	if c.DataDir == "" {
		c.DataDir = c.Name + ".metastore"
	}
	if c.WALDir == "" {
		c.WALDir = filepath.Join(c.DataDir, "member", "wal")
	}
	if c.InitialCluster == "" {
		c.InitialCluster = c.Name + "=" + c.InitialAdvertisePeerURLs
	}
}

// finish derives the settings that default from others and validates all.
func (c *Config) finish() error {
	c.Derive()
	var errs []error
	if c.InitialClusterState != "new" && c.InitialClusterState != "existing" {
		errs = append(errs, fmt.Errorf("invalid value %q for --initial-cluster-state: want new or existing", c.InitialClusterState))
	}
	if c.HeartbeatMillis <= 0 || c.ElectionMillis < 5*c.HeartbeatMillis {
		errs = append(errs, fmt.Errorf("--election-timeout (%d ms) must be at least 5 times --heartbeat-interval (%d ms)", c.ElectionMillis, c.HeartbeatMillis))
	}
	if c.MaxTxnOps <= 0 {
		errs = append(errs, fmt.Errorf("--max-txn-ops must be positive"))
	}
	if c.MaxRequestBytes <= 0 {
		errs = append(errs, fmt.Errorf("--max-request-bytes must be positive"))
	}
	if err := c.finishPlugins(); err != nil {
		errs = append(errs, err)
	}
	if c.WatchProgressNotifyInterval <= 0 {
		errs = append(errs, fmt.Errorf("--watch-progress-notify-interval must be positive"))
	}
	if err := c.finishCompaction(); err != nil {
		errs = append(errs, err)
	}
	if err := c.CorruptionConfig.finish(); err != nil {
		errs = append(errs, err)
	}
	if err := c.ServerConfig.finish(); err != nil {
		errs = append(errs, err)
	}
	if err := checkLogFormat(c.LogFormat); err != nil {
		errs = append(errs, err)
	}
	if c.EnableDistributedTracing {
		if err := checkTracingSamplingRate(c.DistributedTracingSamplingRate); err != nil {
			errs = append(errs, err)
		}
	}
	if c.EnableLogRotation {
		if _, err := c.LogRotation(); err != nil {
			errs = append(errs, err)
		}
	}
	if strings.TrimSpace(c.ListenMetricsURLs) != "" {
		if _, err := ParseURLs(c.ListenMetricsURLs); err != nil {
			errs = append(errs, fmt.Errorf("--listen-metrics-urls: %w", err))
		}
	}
	if c.Logger != "zap" {
		errs = append(errs, fmt.Errorf("invalid value %q for --logger: only zap is supported", c.Logger))
	}
	for _, f := range []struct {
		flag, urls string
		parse      func(string) ([]url.URL, error)
	}{
		{"listen-client-urls", c.ListenClientURLs, ParseClientURLs},
		{"advertise-client-urls", c.AdvertiseClientURLs, ParseClientURLs},
		{"listen-peer-urls", c.ListenPeerURLs, ParseURLs},
		{"initial-advertise-peer-urls", c.InitialAdvertisePeerURLs, ParseURLs},
	} {
		if _, err := f.parse(f.urls); err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", f.flag, err))
		}
	}
	if err := c.finishTLS(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Heartbeat is the raft heartbeat interval (--heartbeat-interval).
func (c *Config) Heartbeat() time.Duration {
	return time.Duration(c.HeartbeatMillis) * time.Millisecond
}

// ElectionTicks is the election timeout counted in heartbeats.
func (c *Config) ElectionTicks() int { return c.ElectionMillis / c.HeartbeatMillis }

// RequestTimeout is how long a proposal may wait, as etcd: 5s plus two
// election timeouts.
func (c *Config) RequestTimeout() time.Duration {
	return 5*time.Second + 2*time.Duration(c.ElectionMillis)*time.Millisecond
}

// QuotaBytes is the backend quota: --quota-backend-bytes, or
// DefaultQuotaBackendBytes when it is not positive.
func (c *Config) QuotaBytes() int64 {
	if c.QuotaBackendBytes <= 0 {
		return DefaultQuotaBackendBytes
	}
	return c.QuotaBackendBytes
}

// finishCompaction parses the auto-compaction settings.
func (c *Config) finishCompaction() error {
	cc, err := compactor.Parse(c.AutoCompactionMode, c.AutoCompactionRetention)
	if err != nil {
		return fmt.Errorf("--auto-compaction-mode/--auto-compaction-retention: %w", err)
	}
	cc.CheckInterval, err = time.ParseDuration(c.AutoCompactionCheckInterval)
	if err != nil || cc.CheckInterval <= 0 {
		return fmt.Errorf("invalid --auto-compaction-check-interval %q: want a positive duration", c.AutoCompactionCheckInterval)
	}
	c.compaction = cc
	return nil
}

// Compaction is the auto-compaction the settings describe, as Load
// parsed it.
func (c *Config) Compaction() compactor.Config { return c.compaction }
