package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLoadEtcdEnv(t *testing.T) {
	file := filepath.Join(t.TempDir(), "metastore.yaml")
	require.NoError(t, os.WriteFile(file, []byte("name: fromfile\nmax-txn-ops: 64\n"), 0o600))
	tests := []struct {
		name         string
		args         []string
		env          []string
		check        func(t *testing.T, c Config)
		wantWarnings []string
		wantErr      string
	}{
		{name: "etcd's variables alone",
			env: []string{"ETCD_NAME=infra1", "ETCD_DATA_DIR=/var/lib/etcd", "ETCD_INITIAL_CLUSTER_TOKEN=tok",
				"ETCD_LISTEN_CLIENT_URLS=http://10.0.0.1:2379,http://127.0.0.1:2379", "ETCD_ADVERTISE_CLIENT_URLS=http://10.0.0.1:2379",
				"ETCD_LISTEN_PEER_URLS=http://10.0.0.1:2380", "ETCD_INITIAL_ADVERTISE_PEER_URLS=http://10.0.0.1:2380",
				"ETCD_INITIAL_CLUSTER=infra1=http://10.0.0.1:2380,infra2=http://10.0.0.2:2380", "ETCD_INITIAL_CLUSTER_STATE=existing"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, "infra1", c.Name)
				require.Equal(t, "/var/lib/etcd", c.DataDir)
				require.Equal(t, "tok", c.InitialClusterToken)
				require.Equal(t, "http://10.0.0.1:2379,http://127.0.0.1:2379", c.ListenClientURLs)
				require.Equal(t, "http://10.0.0.1:2379", c.AdvertiseClientURLs)
				require.Equal(t, "http://10.0.0.1:2380", c.ListenPeerURLs)
				require.Equal(t, "infra1=http://10.0.0.1:2380,infra2=http://10.0.0.2:2380", c.InitialCluster)
				require.Equal(t, "existing", c.InitialClusterState)
			}},
		{name: "booleans as etcd parses them",
			env: []string{"ETCD_STRICT_RECONFIG_CHECK=F", "ETCD_ENABLE_PPROF=1", "ETCD_PRE_VOTE=FALSE", "ETCD_SOCKET_REUSE_PORT=True"},
			check: func(t *testing.T, c Config) {
				require.False(t, c.StrictReconfigCheck)
				require.True(t, c.EnablePprof)
				require.False(t, c.PreVote)
				require.True(t, c.SocketReusePort)
			}},
		{name: "a boolean etcd would not take", env: []string{"ETCD_ENABLE_PPROF=yes"},
			wantErr: `invalid value "yes" for ETCD_ENABLE_PPROF: parse error`},
		{name: "durations and sizes",
			env: []string{"ETCD_GRPC_KEEPALIVE_MIN_TIME=7s", "ETCD_WATCH_PROGRESS_NOTIFY_INTERVAL=1m30s", "ETCD_CORRUPT_CHECK_TIME=5m",
				"ETCD_QUOTA_BACKEND_BYTES=8589934592", "ETCD_MAX_REQUEST_BYTES=0x200000", "ETCD_SNAPSHOT_COUNT=5000",
				"ETCD_HEARTBEAT_INTERVAL=50", "ETCD_ELECTION_TIMEOUT=500", "ETCD_MAX_CONCURRENT_STREAMS=100"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, 7*time.Second, c.GRPCKeepAliveMinTime)
				require.Equal(t, 90*time.Second, c.WatchProgressNotifyInterval)
				require.Equal(t, 5*time.Minute, c.CorruptCheckInterval())
				require.Equal(t, int64(8<<30), c.QuotaBackendBytes)
				require.Equal(t, 2<<20, c.MaxRequestBytes)
				require.Equal(t, uint64(5000), c.SnapshotCount)
				require.Equal(t, 50, c.HeartbeatMillis)
				require.Equal(t, 500, c.ElectionMillis)
				require.Equal(t, uint64(100), c.MaxConcurrentStreams)
			}},
		{name: "a duration without a unit", env: []string{"ETCD_GRPC_KEEPALIVE_TIMEOUT=20"},
			wantErr: `invalid value "20" for ETCD_GRPC_KEEPALIVE_TIMEOUT: parse error`},
		{name: "a size with a unit", env: []string{"ETCD_QUOTA_BACKEND_BYTES=8GiB"},
			wantErr: `invalid value "8GiB" for ETCD_QUOTA_BACKEND_BYTES: parse error`},
		{name: "comma lists", env: []string{"ETCD_CIPHER_SUITES=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
			"ETCD_LOG_OUTPUTS=stderr,/tmp/ms.log"},
			check: func(t *testing.T, c Config) {
				flags, _, err := Load([]string{"--cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"}, nil)
				require.NoError(t, err)
				require.Equal(t, flags.CipherSuites, c.CipherSuites, "as the flag")
				require.Equal(t, []string{"stderr", "/tmp/ms.log"}, c.LogOutputPaths())
			}},
		{name: "METASTORE_* wins over ETCD_*", env: []string{"ETCD_NAME=etcd-name", "METASTORE_NAME=ms-name", "ETCD_MAX_TXN_OPS=64"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, "ms-name", c.Name)
				require.Equal(t, 64, c.MaxTxnOps)
			},
			wantWarnings: []string{"environment variables METASTORE_NAME and ETCD_NAME both set name: METASTORE_NAME wins"}},
		{name: "a flag over METASTORE_* and ETCD_* of another setting", args: []string{"--name=flag"},
			env:   []string{"METASTORE_NAME=ms", "ETCD_MAX_TXN_OPS=64"},
			check: func(t *testing.T, c Config) { require.Equal(t, "flag", c.Name); require.Equal(t, 64, c.MaxTxnOps) }},
		{name: "a flag and its ETCD_* variable, as etcd refuses them", args: []string{"--name=flag"}, env: []string{"ETCD_NAME=env"},
			wantErr: "conflicting environment variable ETCD_NAME is shadowed by the flag --name"},
		{name: "even an empty one", args: []string{"--max-txn-ops=3"}, env: []string{"ETCD_MAX_TXN_OPS="},
			wantErr: "conflicting environment variable ETCD_MAX_TXN_OPS is shadowed by the flag --max-txn-ops"},
		{name: "a flag of MetaStore's own beside its ETCD_* name", args: []string{"--storage-engine=memory", "--version"},
			env:          []string{"ETCD_STORAGE_ENGINE=bbolt", "ETCD_VERSION=1"},
			check:        func(t *testing.T, c Config) { require.Equal(t, "memory", c.StorageEngine) },
			wantWarnings: []string{"cannot set special environment variable ETCD_VERSION", "unrecognized environment variable ETCD_STORAGE_ENGINE"}},
		{name: "an empty variable is ignored, as etcd", env: []string{"ETCD_NAME=", "ETCD_MAX_WALS="},
			check: func(t *testing.T, c Config) { require.Equal(t, "default", c.Name) }},
		{name: "an etcd flag MetaStore refuses", env: []string{"ETCD_MAX_WALS=5", "ETCD_DISCOVERY_SRV=example.com", "ETCD_NAME=n"},
			wantErr: "etcd flag not implemented by MetaStore: ETCD_DISCOVERY_SRV, ETCD_MAX_WALS"},
		{name: "unrecognized variables are warnings",
			env: []string{"ETCD_BIN=/usr/bin/etcd", "ETCD_STORAGE_ENGINE=memory", "ETCD_name=x", "ETCD_VERSION=1", "METASTORE_BIN=/x"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, "bbolt", c.StorageEngine, "storage-engine is no etcd flag")
				require.Equal(t, "default", c.Name)
			},
			wantWarnings: []string{"cannot set special environment variable ETCD_VERSION", "unrecognized environment variable ETCD_BIN",
				"unrecognized environment variable ETCD_STORAGE_ENGINE", "unrecognized environment variable ETCD_name",
				"unrecognized environment variable METASTORE_BIN"}},
		{name: "ETCD_CONFIG_FILE, and ETCD_* over the file", env: []string{"ETCD_CONFIG_FILE=" + file, "ETCD_MAX_TXN_OPS=32"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, "fromfile", c.Name)
				require.Equal(t, 32, c.MaxTxnOps)
			}},
		{name: "METASTORE_CONFIG_FILE over ETCD_CONFIG_FILE", env: []string{"ETCD_CONFIG_FILE=/nonexistent", "METASTORE_CONFIG_FILE=" + file},
			check: func(t *testing.T, c Config) { require.Equal(t, "fromfile", c.Name) }},
		{name: "--config-file over ETCD_CONFIG_FILE, no conflict as in etcd", args: []string{"--config-file", file}, env: []string{"ETCD_CONFIG_FILE=/nonexistent"},
			check: func(t *testing.T, c Config) { require.Equal(t, "fromfile", c.Name) }},
	}
	for _, tt := range tests {
		loadCaseOptions(t, tt.name, tt.args, tt.env, tt.wantErr, func(t *testing.T, c Config, opts Options) {
			tt.check(t, c)
			require.Equal(t, tt.wantWarnings, opts.Warnings)
		})
	}
}

// The METASTORE_* variables: any case after the prefix, typed as the
// settings, the later of two names for one setting (in sorted order)
// winning, and a warning for a name that is no setting.
func TestMetaStoreEnv(t *testing.T) {
	c, opts, err := Load(nil, []string{
		"METASTORE_data_dir=/lower", "METASTORE_DATA_DIR=/upper",
		"METASTORE_MAX_TXN_OPS=7", "METASTORE_STRICT_RECONFIG_CHECK=false", "METASTORE_NOPE=1", "OTHER_NAME=x",
	})
	require.NoError(t, err)
	require.Equal(t, "/lower", c.DataDir, "METASTORE_data_dir sorts after METASTORE_DATA_DIR")
	require.Equal(t, 7, c.MaxTxnOps)
	require.False(t, c.StrictReconfigCheck)
	require.Equal(t, []string{"unrecognized environment variable METASTORE_NOPE"}, opts.Warnings)

	_, _, err = Load(nil, []string{"METASTORE_MAX_TXN_OPS=many"})
	require.ErrorContains(t, err, "max-txn-ops")
}
