package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/config"
	"github.com/metastore/metastore/host/hosttest"
)

// etcdEnv is the ETCD_* variables of etcd's systemd units and charts for
// the member s, with the cluster token token.
func etcdEnv(s hosttest.Settings, token string) []string {
	return []string{
		"ETCD_NAME=" + s.Name, "ETCD_DATA_DIR=" + s.DataDir,
		"ETCD_LISTEN_CLIENT_URLS=" + s.ClientURL, "ETCD_ADVERTISE_CLIENT_URLS=" + s.ClientURL,
		"ETCD_LISTEN_PEER_URLS=" + s.ListenPeerURL, "ETCD_INITIAL_ADVERTISE_PEER_URLS=" + s.PeerURL,
		"ETCD_INITIAL_CLUSTER=" + s.InitialCluster, "ETCD_INITIAL_CLUSTER_TOKEN=" + token,
		"ETCD_INITIAL_CLUSTER_STATE=new", "ETCD_STRICT_RECONFIG_CHECK=false", "ETCD_MAX_TXN_OPS=2",
	}
}

// memberListing is `etcdctl member list -w json` with its header.
type memberListing struct {
	Header struct {
		ClusterID uint64 `json:"cluster_id"`
	} `json:"header"`
	Members []memberJSON `json:"members"`
}

// listMembers lists the members through endpoint; args go before the
// command (TLS flags).
func listMembers(t *testing.T, endpoint string, args ...string) memberListing {
	t.Helper()
	out, err := hosttest.Etcdctl(t, endpoint, "", append(args, "member", "list", "-w", "json")...)
	require.NoError(t, err)
	var l memberListing
	require.NoError(t, json.Unmarshal([]byte(out), &l))
	return l
}

// clusterID is the ID etcd gives the cluster of initialCluster and token.
func clusterID(t *testing.T, initialCluster, token string) uint64 {
	t.Helper()
	members, err := config.ParseInitialCluster(initialCluster, token)
	require.NoError(t, err)
	return config.ClusterID(members)
}

// TestEtcdEnvOnly configures etcd and a MetaStore member through etcd's
// variables alone, no flag, and requires that each serves etcdctl as the
// variables say: its name, URLs, data dir, cluster token (in the cluster
// ID) and --max-txn-ops.
func TestEtcdEnvOnly(t *testing.T) {
	const token = "env-only-token"
	for _, bin := range []string{hosttest.EtcdBin(t), hosttest.MetastoreBin(t)} {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			var settings hosttest.Settings
			m := hosttest.StartMember(t, hosttest.WithBinary(bin), hosttest.WithName("env1"),
				hosttest.WithSettings(func(s hosttest.Settings) ([]string, []string) {
					settings = s
					return nil, etcdEnv(s, token)
				}))
			_, err := m.Etcdctl(t, "put", "k", "v")
			require.NoError(t, err)
			out, err := m.Etcdctl(t, "get", "k", "--print-value-only")
			require.NoError(t, err)
			require.Equal(t, "v\n", out)
			_, err = m.EtcdctlStdin(t, "\n\nput a 1\nput b 2\nput c 3\n\n", "txn")
			require.ErrorContains(t, err, "too many operations in txn request", "ETCD_MAX_TXN_OPS=2")

			l := listMembers(t, m.Endpoint())
			require.Len(t, l.Members, 1)
			require.Equal(t, "env1", l.Members[0].Name)
			require.Equal(t, []string{settings.PeerURL}, l.Members[0].PeerURLs)
			require.Equal(t, []string{settings.ClientURL}, l.Members[0].ClientURLs)
			require.Equal(t, clusterID(t, settings.InitialCluster, token), l.Header.ClusterID)
			_, err = os.Stat(filepath.Join(settings.DataDir, "member", "wal"))
			require.NoError(t, err, "ETCD_DATA_DIR")
		})
	}
}

// TestEtcdEnvConflicts: a METASTORE_* variable wins over the ETCD_* one of
// the same setting, with a warning naming both; a flag given with its
// ETCD_* variable stops the start, of etcd as of MetaStore.
func TestEtcdEnvConflicts(t *testing.T) {
	t.Run("METASTORE_* over ETCD_*", func(t *testing.T) {
		m := hosttest.StartMember(t, hosttest.WithName("winner"), hosttest.WithSettings(func(s hosttest.Settings) ([]string, []string) {
			env := etcdEnv(s, "conflict-token")
			// Were ETCD_NAME to win, the member would not find itself in
			// ETCD_INITIAL_CLUSTER and would not start.
			return nil, append(env, "ETCD_NAME=loser", "METASTORE_NAME=winner")
		}))
		require.Equal(t, "winner", listMembers(t, m.Endpoint()).Members[0].Name)
		require.Regexp(t, `"level":"warn".*"msg":"environment variables METASTORE_NAME and ETCD_NAME both set name: METASTORE_NAME wins"`, m.Output())
	})
	for _, bin := range []string{hosttest.EtcdBin(t), hosttest.MetastoreBin(t)} {
		t.Run("a flag and its ETCD_* variable/"+filepath.Base(bin), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "--name", "flag", "--data-dir", t.TempDir())
			cmd.Env = append(os.Environ(), "ETCD_NAME=env")
			out, err := cmd.CombinedOutput()
			require.NoError(t, ctx.Err(), "it did not stop")
			require.Error(t, err, "%s", out)
			require.Regexp(t, regexp.MustCompile(`conflicting environment variable (ETCD_NAME )?is shadowed by`), string(out))
			require.Contains(t, string(out), "ETCD_NAME")
		})
	}
}

// TestEveryEtcdFlagIsTakenOrRefused holds MetaStore's flags and variables
// to the flags of etcd 3.7.3's --help: each is a setting of MetaStore or
// refused by name, as a flag and as its ETCD_* variable, never unknown.
func TestEveryEtcdFlagIsTakenOrRefused(t *testing.T) {
	help, _ := exec.Command(hosttest.EtcdBin(t), "--help").CombinedOutput()
	names := regexp.MustCompile(`(?m)^\s+--([a-z0-9-]+)`).FindAllStringSubmatch(string(help), -1)
	require.Greater(t, len(names), 100, "%s", help)
	for _, n := range names {
		name := n[1]
		_, _, err := config.Load([]string{"--" + name + "=1"}, nil)
		if err != nil {
			require.NotContains(t, err.Error(), "provided but not defined", "--%s", name)
		}
		variable := "ETCD_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		_, opts, err := config.Load(nil, []string{variable + "=1"})
		if err == nil {
			require.NotContains(t, opts.Warnings, "unrecognized environment variable "+variable)
		} else if strings.Contains(err.Error(), "not implemented") {
			require.ErrorContains(t, err, variable)
		}
	}
}
