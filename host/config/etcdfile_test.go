package config

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLoadEtcdSampleConfig loads etcd's own sample config file as it is.
func TestLoadEtcdSampleConfig(t *testing.T) {
	c, opts, err := Load([]string{"--config-file", filepath.Join("testdata", "etcd.conf.yml.sample")}, nil)
	require.NoError(t, err)
	require.Equal(t, FormatEtcd, opts.ConfigFileFormat)
	require.Equal(t, "default", c.Name)
	require.Equal(t, "default.metastore", c.DataDir, "data-dir has no value: the default")
	require.Equal(t, uint64(10000), c.SnapshotCount)
	require.Equal(t, "http://localhost:2379", c.ListenClientURLs)
	require.Equal(t, "http://localhost:2380", c.InitialAdvertisePeerURLs)
	require.Equal(t, "etcd-cluster", c.InitialClusterToken)
	require.False(t, c.StrictReconfigCheck)
	require.True(t, c.EnablePprof)
	require.Equal(t, "debug", c.LogLevel)
	require.Equal(t, []string{"stderr"}, c.LogOutputPaths())
	require.Equal(t, "1", c.AutoCompactionRetention)
	require.Equal(t, []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"}, c.CipherSuites)
	require.Equal(t, "TLS1.3", c.TLSMaxVersion)
	require.Empty(t, c.CertFile)
	require.False(t, c.PeerClientCertAuth)
}

func TestLoadEtcdConfigFile(t *testing.T) {
	tests := []struct {
		name       string
		yaml       string
		args       []string
		wantFormat string
		check      func(t *testing.T, c Config)
		wantErr    string
	}{
		{name: "MetaStore's format", yaml: "name: n\nmax-txn-ops: 64\n", wantFormat: FormatMetaStore,
			check: func(t *testing.T, c Config) { require.Equal(t, 64, c.MaxTxnOps) }},
		{name: "the TLS blocks", wantFormat: FormatEtcd, yaml: `
client-transport-security:
  cert-file: /tls/server.pem
  key-file: /tls/server-key.pem
  client-cert-auth: true
  trusted-ca-file: /tls/ca.pem
  auto-tls: false
peer-transport-security:
  cert-file: /tls/peer.pem
  key-file: /tls/peer-key.pem
  client-cert-auth: true
  trusted-ca-file: /tls/peer-ca.pem
  auto-tls: true
  allowed-cn: [member]
  allowed-hostname:
socket-options:
  reuse-port: true
`,
			check: func(t *testing.T, c Config) {
				require.Equal(t, "/tls/server.pem", c.CertFile)
				require.Equal(t, "/tls/server-key.pem", c.KeyFile)
				require.True(t, c.ClientCertAuth)
				require.Equal(t, "/tls/ca.pem", c.TrustedCAFile)
				require.False(t, c.AutoTLS)
				require.Equal(t, "/tls/peer.pem", c.PeerCertFile)
				require.Equal(t, "/tls/peer-key.pem", c.PeerKeyFile)
				require.True(t, c.PeerClientCertAuth)
				require.Equal(t, "/tls/peer-ca.pem", c.PeerTrustedCAFile)
				require.True(t, c.PeerAutoTLS)
				require.Equal(t, "member", c.PeerCertAllowedCN)
				require.True(t, c.SocketReusePort)
				require.False(t, c.SocketReuseAddress)
			}},
		{name: "an allowed host name", yaml: "peer-transport-security:\n  allowed-hostname: [peer.example.com]\n", wantFormat: FormatEtcd,
			check: func(t *testing.T, c Config) { require.Equal(t, "peer.example.com", c.PeerCertAllowedHostname) }},
		{name: "client auto TLS", yaml: "client-transport-security:\n  auto-tls: true\nlisten-client-urls: https://127.0.0.1:2379\n", wantFormat: FormatEtcd,
			check: func(t *testing.T, c Config) { require.True(t, c.AutoTLS) }},
		{name: "durations as etcd writes them, in nanoseconds", wantFormat: FormatEtcd,
			yaml: "max-wals: 5\ngrpc-keepalive-min-time: 7000000000\ncorrupt-check-time: 300000000000\nwatch-progress-notify-interval: 90s\n",
			check: func(t *testing.T, c Config) {
				require.Equal(t, 7*time.Second, c.GRPCKeepAliveMinTime)
				require.Equal(t, 5*time.Minute, c.CorruptCheckInterval())
				require.Equal(t, 90*time.Second, c.WatchProgressNotifyInterval)
			}},
		{name: "empty values etcd takes for its defaults", yaml: "cors:\ninitial-cluster-state: ''\nself-signed-cert-validity: 0\n", wantFormat: FormatEtcd,
			check: func(t *testing.T, c Config) {
				require.Equal(t, "new", c.InitialClusterState)
				require.Equal(t, 1, c.SelfSignedCertValidity)
			}},
		{name: "another empty value is a value", yaml: "cors:\nlisten-metrics-urls: ''\nauth-token: ''\n", wantFormat: FormatEtcd,
			check: func(t *testing.T, c Config) { require.Empty(t, c.AuthToken) }},
		{name: "nanoseconds in MetaStore's format too", yaml: "compact-hash-check-time: 120000000000\n", wantFormat: FormatMetaStore,
			check: func(t *testing.T, c Config) { require.Equal(t, 2*time.Minute, c.CompactHashCheckInterval()) }},
		{name: "MetaStore's own keys beside etcd's", yaml: "cors: '*'\nstorage-engine: memory\nvalue-cache-bytes: 1024\n", wantFormat: FormatEtcd,
			check: func(t *testing.T, c Config) {
				require.Equal(t, "memory", c.StorageEngine)
				require.Equal(t, int64(1024), c.ValueCacheBytes)
			}},
		{name: "the environment and the flags over etcd's file", yaml: "cors:\nname: file\nmax-txn-ops: 64\n", args: []string{"--max-txn-ops=8"}, wantFormat: FormatEtcd,
			check: func(t *testing.T, c Config) {
				require.Equal(t, "file", c.Name)
				require.Equal(t, 8, c.MaxTxnOps)
			}},
		{name: "features MetaStore lacks, set", yaml: "max-wals: 0\ncors: https://example.com\ndiscovery-srv: example.com\nproxy: 'on'\n",
			wantErr: "etcd setting not implemented by MetaStore: config file key cors is https://example.com (MetaStore takes only etcd's default, *, or no value); " +
				"etcd setting not implemented by MetaStore: config file key discovery-srv is example.com (MetaStore takes no value); " +
				"etcd setting not implemented by MetaStore: config file key max-wals is 0 (MetaStore takes only etcd's default, 5, or no value); " +
				"etcd setting not implemented by MetaStore: config file key proxy is on (MetaStore takes only etcd's default, off, or no value)"},
		{name: "a nested setting MetaStore lacks", yaml: "client-transport-security:\n  client-cert-file: /tls/c.pem\n",
			wantErr: "config file key client-transport-security.client-cert-file is /tls/c.pem"},
		{name: "v3 discovery", yaml: "discovery-config:\n  token: t\n  client:\n    endpoints: [http://d:2379]\n",
			wantErr: "config file key discovery-config.client.endpoints is [http://d:2379] (MetaStore takes no value); etcd setting not implemented by MetaStore: config file key discovery-config.token is t"},
		{name: "two allowed CNs", yaml: "peer-transport-security:\n  allowed-cn: [a, b]\n",
			wantErr: "config file key peer-transport-security.allowed-cn: MetaStore takes one value, not 2"},
		{name: "a setting given twice", yaml: "cert-file: /a.pem\nclient-transport-security:\n  cert-file: /b.pem\n",
			wantErr: "config file keys cert-file and client-transport-security.cert-file both set cert-file: keep one"},
		{name: "an unknown key in etcd's format", yaml: "max-wals: 5\nexperimental-compaction-batch-limit: 100\n",
			wantErr: "(etcd's format): unknown setting: config file key experimental-compaction-batch-limit"},
	}
	dir := t.TempDir()
	for i, tt := range tests {
		file := filepath.Join(dir, fmt.Sprintf("%d.yaml", i))
		require.NoError(t, os.WriteFile(file, []byte(tt.yaml), 0o600))
		loadCaseOptions(t, tt.name, append([]string{"--config-file", file}, tt.args...), nil, tt.wantErr, func(t *testing.T, c Config, opts Options) {
			require.Equal(t, tt.wantFormat, opts.ConfigFileFormat)
			tt.check(t, c)
		})
	}
}
