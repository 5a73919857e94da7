package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLoadPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "metastore.yaml")
	require.NoError(t, os.WriteFile(file, []byte("name: fromfile\nmax-txn-ops: 64\nsnapshot-count: 5\n"), 0o600))

	tests := []struct {
		name    string
		args    []string
		env     []string
		check   func(t *testing.T, c Config)
		wantErr string
	}{
		{name: "defaults", check: func(t *testing.T, c Config) {
			require.Equal(t, "default", c.Name)
			require.Equal(t, "default.metastore", c.DataDir)
			require.Equal(t, filepath.Join("default.metastore", "member", "wal"), c.WALDir)
			require.Equal(t, "http://127.0.0.1:2379", c.ListenClientURLs)
			require.Equal(t, "default=http://127.0.0.1:2380", c.InitialCluster)
			require.Equal(t, 128, c.MaxTxnOps)
			require.Equal(t, 1536*1024, c.MaxRequestBytes)
			require.Equal(t, uint64(10000), c.SnapshotCount)
			require.Equal(t, "bbolt", c.StorageEngine)
		}},
		{name: "file", args: []string{"--config-file", file}, check: func(t *testing.T, c Config) {
			require.Equal(t, "fromfile", c.Name)
			require.Equal(t, 64, c.MaxTxnOps)
			require.Equal(t, uint64(5), c.SnapshotCount)
		}},
		{name: "env over file", args: []string{"--config-file", file}, env: []string{"METASTORE_MAX_TXN_OPS=32", "OTHER=1"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, "fromfile", c.Name)
				require.Equal(t, 32, c.MaxTxnOps)
			}},
		{name: "flag over env", args: []string{"--max-txn-ops=16"}, env: []string{"METASTORE_MAX_TXN_OPS=32"},
			check: func(t *testing.T, c Config) { require.Equal(t, 16, c.MaxTxnOps) }},
		{name: "config file from env", env: []string{"METASTORE_CONFIG_FILE=" + file},
			check: func(t *testing.T, c Config) { require.Equal(t, "fromfile", c.Name) }},
		{name: "single dash flags", args: []string{"-name", "n1", "-data-dir", "/tmp/x"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, "n1", c.Name)
				require.Equal(t, "/tmp/x", c.DataDir)
			}},
		{name: "unimplemented etcd flag", args: []string{"--max-wals=5"}, wantErr: "etcd flag not implemented by MetaStore: --max-wals"},
		{name: "unknown flag", args: []string{"--no-such-flag"}, wantErr: "flag provided but not defined: -no-such-flag"},
		{name: "bad cluster state", args: []string{"--initial-cluster-state=bogus"}, wantErr: "initial-cluster-state"},
		{name: "https without a certificate", args: []string{"--listen-client-urls=https://127.0.0.1:2379"}, wantErr: "--listen-client-urls: https and unixs URLs need --cert-file and --key-file, or --auto-tls"},
		{name: "unixs without a certificate", args: []string{"--listen-client-urls=unixs://localhost:2379"}, wantErr: "--listen-client-urls: https and unixs URLs need --cert-file and --key-file"},
		{name: "https peers without a certificate", args: []string{"--listen-peer-urls=https://127.0.0.1:2380"}, wantErr: "--listen-peer-urls: https URLs need --peer-cert-file and --peer-key-file, or --peer-auto-tls"},
		{name: "advertised https URLs of a TLS proxy", args: []string{"--advertise-client-urls=https://proxy:2379", "--initial-advertise-peer-urls=https://proxy:2380"},
			check: func(t *testing.T, c Config) { require.Equal(t, "https://proxy:2379", c.AdvertiseClientURLs) }},
		{name: "peer key without a certificate", args: []string{"--peer-key-file=k.pem"}, wantErr: "--peer-cert-file and --peer-key-file go together"},
		{name: "client cert auth without a CA", args: []string{"--client-cert-auth"}, wantErr: "--client-cert-auth needs --trusted-ca-file"},
		{name: "peer client cert auth without a CA", args: []string{"--peer-client-cert-auth"}, wantErr: "--peer-client-cert-auth needs --peer-trusted-ca-file"},
		{name: "allowed CN and host name", args: []string{"--peer-cert-allowed-cn=a", "--peer-cert-allowed-hostname=b"}, wantErr: "mutually exclusive"},
		{name: "https metrics without a certificate", args: []string{"--listen-metrics-urls=https://127.0.0.1:2381"}, wantErr: "--listen-metrics-urls: client TLS key/cert (--cert-file, --key-file) must be provided for metrics secure url"},
		{name: "unknown scheme", args: []string{"--listen-client-urls=ftp://x:1"}, wantErr: "scheme \"ftp\" is not supported (use http, https, unix or unixs)"},
		{name: "unix peers", args: []string{"--listen-peer-urls=unix://x:1"}, wantErr: "--listen-peer-urls: URL \"unix://x:1\": scheme \"unix\" is not supported"},
		{name: "auto TLS", args: []string{"--auto-tls", "--peer-auto-tls", "--listen-client-urls=https://127.0.0.1:2379,unixs://localhost:2379",
			"--listen-peer-urls=https://127.0.0.1:2380", "--initial-advertise-peer-urls=https://127.0.0.1:2380"},
			check: func(t *testing.T, c Config) {
				require.True(t, c.AutoTLS)
				require.True(t, c.PeerAutoTLS)
				require.Equal(t, 1, c.SelfSignedCertValidity)
			}},
		{name: "unix client URLs", args: []string{"--listen-client-urls=unix://localhost:2379,unix:///tmp/ms.sock", "--advertise-client-urls=unix://localhost:2379"},
			check: func(t *testing.T, c Config) {
				urls, err := ParseClientURLs(c.ListenClientURLs)
				require.NoError(t, err)
				require.Equal(t, "localhost:2379", urls[0].Host+urls[0].Path)
				require.Equal(t, "/tmp/ms.sock", urls[1].Host+urls[1].Path)
			}},
		{name: "election too short", args: []string{"--election-timeout=200"}, wantErr: "at least 5 times"},
	}
	for _, tt := range tests {
		loadCase(t, tt.name, tt.args, tt.env, tt.wantErr, tt.check)
	}
}

func TestLoadUnknownEnvIsAWarning(t *testing.T) {
	c, opts, err := Load(nil, []string{"METASTORE_BIN=/x", "METASTORE_NAME=n"})
	require.NoError(t, err)
	require.Equal(t, "n", c.Name)
	require.Equal(t, []string{"unrecognized environment variable METASTORE_BIN"}, opts.Warnings)
}

func TestLoadUnknownFileKey(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(file, []byte("nmae: typo\n"), 0o600))
	_, _, err := Load([]string{"--config-file", file}, nil)
	require.ErrorContains(t, err, "unknown setting: config file key nmae")
}

func TestMemberIDsMatchEtcd(t *testing.T) {
	// A default etcd member (peer URL http://localhost:2380, token
	// etcd-cluster) is the well-known member 8e9e05c52164694d of cluster
	// cdf818194e3a8c32.
	members, err := ParseInitialCluster("default=http://localhost:2380", "etcd-cluster")
	require.NoError(t, err)
	require.Len(t, members, 1)
	require.Equal(t, uint64(0x8e9e05c52164694d), members[0].ID)
	require.Equal(t, uint64(0xcdf818194e3a8c32), ClusterID(members))

	other, err := ParseInitialCluster("default=http://localhost:2380", "other")
	require.NoError(t, err)
	require.NotEqual(t, members[0].ID, other[0].ID)

	_, err = Self(members, "infra2", "http://localhost:2380")
	require.ErrorContains(t, err, `member "infra2" is not in --initial-cluster`)
	_, err = Self(members, "default", "http://127.0.0.1:9999")
	require.ErrorContains(t, err, "--initial-advertise-peer-urls")
}

func TestLoadStrictReconfigCheck(t *testing.T) {
	c, _, err := Load(nil, nil)
	require.NoError(t, err)
	require.True(t, c.StrictReconfigCheck, "on by default, as etcd")
	c, _, err = Load([]string{"--strict-reconfig-check=false"}, nil)
	require.NoError(t, err)
	require.False(t, c.StrictReconfigCheck)
	c, _, err = Load(nil, []string{"METASTORE_STRICT_RECONFIG_CHECK=false"})
	require.NoError(t, err)
	require.False(t, c.StrictReconfigCheck)
}

// loadCase runs one case of a table test of Load: args and env must fail
// with wantErr or, when it is empty, load a Config that passes check.
func loadCase(t *testing.T, name string, args, env []string, wantErr string, check func(*testing.T, Config)) {
	loadCaseOptions(t, name, args, env, wantErr, func(t *testing.T, c Config, _ Options) { check(t, c) })
}

// loadCaseOptions is loadCase for a check of the Options too.
func loadCaseOptions(t *testing.T, name string, args, env []string, wantErr string, check func(*testing.T, Config, Options)) {
	t.Run(name, func(t *testing.T) {
		c, opts, err := Load(args, env)
		if wantErr != "" {
			require.ErrorContains(t, err, wantErr)
			return
		}
		require.NoError(t, err)
		check(t, c, opts)
	})
}
