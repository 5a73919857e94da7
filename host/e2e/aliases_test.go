package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// startRaw starts the metastore binary with exactly args (no flags added)
// in dir; the process is stopped when the test ends.
func startRaw(t *testing.T, dir string, args ...string) *syncBuffer {
	t.Helper()
	out := &syncBuffer{}
	cmd := exec.Command(hosttest.MetastoreBin(t), args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("output of metastore %s:\n%s", strings.Join(args, " "), out)
		}
	})
	return out
}

// A three-member cluster on 127.0.0.1 started with the aliases alone:
// --id, --cluster, --listen and --storage.
func TestAliasesThreeMemberCluster(t *testing.T) {
	ports := make([]int, 6)
	for i := range ports {
		ports[i] = freePort(t)
	}
	var peers []string
	for i := 0; i < 3; i++ {
		peers = append(peers, fmt.Sprintf("127.0.0.1:%d", ports[3+i]))
	}
	cluster := strings.Join(peers, ",")
	var outs []*syncBuffer
	var endpoints []string
	for i := 0; i < 3; i++ {
		dir := t.TempDir()
		listen := fmt.Sprintf("127.0.0.1:%d", ports[i])
		endpoints = append(endpoints, "http://"+listen)
		// The hosts repeat, so each member's name is its host:port.
		outs = append(outs, startRaw(t, dir, "--id", peers[i], "--cluster", cluster, "--listen", listen, "--storage", "memory"))
	}
	for i, out := range outs {
		require.Eventually(t, func() bool { return strings.Contains(out.String(), hosttest.ReadyLine) },
			60*time.Second, 20*time.Millisecond, "member %d ready", i)
		require.Contains(t, out.String(), `"storage-engine":"memory"`)
	}
	eps := strings.Join(endpoints, ",")
	_, err := hosttest.Etcdctl(t, endpoints[0], "", "put", "k", "v")
	require.NoError(t, err)
	got, err := hosttest.Etcdctl(t, endpoints[2], "", "get", "k", "--print-value-only")
	require.NoError(t, err)
	require.Equal(t, "v\n", got)
	list, err := hosttest.Etcdctl(t, eps, "", "member", "list")
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		require.Contains(t, list, fmt.Sprintf("started, %s, http://%s, %s, false", peers[i], peers[i], endpoints[i]))
	}
	health, err := hosttest.Etcdctl(t, eps, "", "endpoint", "health")
	require.NoError(t, err)
	require.Equal(t, 3, strings.Count(health, "is healthy"))
}

// An alias and the etcd setting it stands for, set to different values,
// refuse to start with a message naming both.
func TestAliasesConflictRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"storage", []string{"--storage", "memory", "--storage-engine", "bbolt"}, `--storage-engine is "bbolt" but the aliases given make it "memory"`},
		{"id", []string{"--id", "a", "--name", "b"}, `--name is "b" but the aliases given make it "a"`},
		{"listen", []string{"--listen", "127.0.0.1:1", "--listen-client-urls", "http://127.0.0.1:2"}, `--listen-client-urls is "http://127.0.0.1:2"`},
		{"cluster without id", []string{"--cluster", "a:1,b:2"}, "--cluster needs --id"},
		{"id not in cluster", []string{"--id", "c", "--cluster", "a:1,b:2"}, `--id "c" names no member of --cluster (its members: a, b)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(hosttest.MetastoreBin(t), tc.args...)
			cmd.Dir = t.TempDir()
			out, err := cmd.CombinedOutput()
			require.Error(t, err)
			require.Contains(t, string(out), tc.want)
			require.NoFileExists(t, filepath.Join(cmd.Dir, "default.metastore"))
		})
	}
	// The same value twice is no conflict.
	dir := t.TempDir()
	port := freePort(t)
	out := startRaw(t, dir, "--storage", "memory", "--storage-engine", "memory", "--id", "solo",
		"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", freePort(t)))
	require.Eventually(t, func() bool { return strings.Contains(out.String(), hosttest.ReadyLine) }, 30*time.Second, 20*time.Millisecond)
}

// --storage rocksdb with no catalog runs the RocksDB plugin that ships
// beside the metastore binary.
func TestAliasesStorageRocksDB(t *testing.T) {
	pluginBin(t, "rocksdb")
	port := freePort(t)
	ep := fmt.Sprintf("127.0.0.1:%d", port)
	out := startRaw(t, t.TempDir(), "--storage", "rocksdb", "--listen", ep,
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", freePort(t)))
	require.Eventually(t, func() bool { return strings.Contains(out.String(), hosttest.ReadyLine) }, 60*time.Second, 20*time.Millisecond)
	require.Contains(t, out.String(), `"msg":"started plugin"`)
	_, err := hosttest.Etcdctl(t, "http://"+ep, "", "put", "k", "v")
	require.NoError(t, err)
	got, err := hosttest.Etcdctl(t, "http://"+ep, "", "get", "k", "--print-value-only")
	require.NoError(t, err)
	require.Equal(t, "v\n", got)
}
