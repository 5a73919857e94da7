package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLoadAliases(t *testing.T) {
	hostname, err := os.Hostname()
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "metastore.yaml")
	require.NoError(t, os.WriteFile(file, []byte("storage-engine: memory\n"), 0o600))
	tests := []struct {
		name    string
		args    []string
		env     []string
		check   func(t *testing.T, c Config)
		wantErr string
	}{
		{name: "id and cluster of distinct hosts", args: []string{"--id", "node2", "--cluster", "node1:2380,node2:2380,node3:2380"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, "node2", c.Name)
				require.Equal(t, "node1=http://node1:2380,node2=http://node2:2380,node3=http://node3:2380", c.InitialCluster)
				require.Equal(t, "http://node2:2380", c.ListenPeerURLs)
				require.Equal(t, "http://node2:2380", c.InitialAdvertisePeerURLs)
			}},
		{name: "repeated hosts are named host:port", args: []string{"--id", "10.0.0.1:2381", "--cluster", "10.0.0.1:2380,10.0.0.1:2381"},
			check: func(t *testing.T, c Config) {
				require.Equal(t, "10.0.0.1:2380=http://10.0.0.1:2380,10.0.0.1:2381=http://10.0.0.1:2381", c.InitialCluster)
			}},
		{name: "named entries", args: []string{"--id", "b", "--cluster", "a=h:1,b=h:2"},
			check: func(t *testing.T, c Config) { require.Equal(t, "a=http://h:1,b=http://h:2", c.InitialCluster) }},
		{name: "listen on a host", args: []string{"--listen", "10.1.2.3:2379"}, check: func(t *testing.T, c Config) {
			require.Equal(t, "http://10.1.2.3:2379", c.ListenClientURLs)
			require.Equal(t, "http://10.1.2.3:2379", c.AdvertiseClientURLs)
		}},
		{name: "listen on every interface", args: []string{"--listen", ":2379"}, check: func(t *testing.T, c Config) {
			require.Equal(t, "http://0.0.0.0:2379", c.ListenClientURLs)
			require.Equal(t, "http://"+hostname+":2379", c.AdvertiseClientURLs)
		}},
		{name: "storage", args: []string{"--storage", "memory"}, check: func(t *testing.T, c Config) { require.Equal(t, "memory", c.StorageEngine) }},
		{name: "same value twice", args: []string{"--storage", "memory", "--config-file", file},
			check: func(t *testing.T, c Config) { require.Equal(t, "memory", c.StorageEngine) }},
		{name: "conflict with the file", args: []string{"--storage", "bbolt", "--config-file", file},
			wantErr: `--storage-engine is "memory" but the aliases given make it "bbolt"`},
		{name: "conflict with the environment", args: []string{"--id", "a"}, env: []string{"METASTORE_NAME=b"},
			wantErr: `--name is "b" but the aliases given make it "a"`},
		{name: "bad listen", args: []string{"--listen", "2379"}, wantErr: `--listen "2379": want host:port or :port`},
		{name: "bad cluster entry", args: []string{"--id", "a", "--cluster", "a"}, wantErr: `--cluster entry "a": want [name=]host:port`},
		{name: "rocksdb needs the plugin binary", args: []string{"--storage", "rocksdb"},
			wantErr: "--storage rocksdb: no storage plugin named rocksdb in the config file's catalog, and open "},
	}
	for _, tc := range tests {
		loadCase(t, tc.name, tc.args, tc.env, tc.wantErr, tc.check)
	}
}
