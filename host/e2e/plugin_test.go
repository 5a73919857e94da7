package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// pluginBin returns the plugin binary `make build` writes beside
// $METASTORE_BIN, e.g. bin/metastore-storage-rocksdb.
func pluginBin(t *testing.T, engine string) string {
	t.Helper()
	bin := filepath.Join(filepath.Dir(hosttest.MetastoreBin(t)), "metastore-storage-"+engine)
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("plugin binary %s: %v: run `make build`", bin, err)
	}
	return bin
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// pluginConfig writes a config file whose storage engine is the plugin
// binary bin, catalogued as "<engine>-plugin" with the checksum sum, and
// returns the member options that use it.
func pluginConfig(t *testing.T, engine, bin, sum string) hosttest.Option {
	t.Helper()
	return hosttest.WithArgs("--config-file", pluginConfigFile(t, engine, bin, sum))
}

// pluginConfigFile writes pluginConfig's file and returns its path.
func pluginConfigFile(t *testing.T, engine, bin, sum string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "metastore.yaml")
	text := fmt.Sprintf(`storage-engine: %[1]s-plugin
plugins:
  - kind: storage
    name: %[1]s-plugin
    path: %[2]s
    sha256: %[3]s
    ping-interval: 200ms
    ping-timeout: 2s
`, engine, bin, sum)
	require.NoError(t, os.WriteFile(file, []byte(text), 0o600))
	return file
}

// startPluginMember starts a member whose engine is the named plugin.
func startPluginMember(t *testing.T, engine string, opts ...hosttest.Option) *hosttest.Process {
	t.Helper()
	bin := pluginBin(t, engine)
	return hosttest.StartMember(t, append(opts, pluginConfig(t, engine, bin, fileSum(t, bin)))...)
}

// TestEtcdctlRocksDBPlugin runs etcdctl against a member whose engine is the
// RocksDB plugin and against the real etcd: the outputs must agree. The data
// then survives a restart, which starts a new plugin process.
func TestEtcdctlRocksDBPlugin(t *testing.T) {
	steps := []step{
		ctl("put", "foo", "bar"),
		ctl("put", "foo", "bar2", "--prev-kv", "-w", "json"),
		ctl("put", "fop", "1"),
		ctl("put", "fz", "2"),
		ctl("get", "f", "--prefix", "-w", "json"),
		ctl("get", "foo", "--rev", "2"),
		ctl("del", "fop", "--prev-kv"),
		ctlIn("value(\"foo\") = \"bar2\"\n\nput foo bar3\n\nput other x\n\n", "txn", "-w", "json"),
		ctl("get", "", "--from-key", "--keys-only"),
		ctl("compaction", "3"),
		ctl("get", "foo", "--rev", "2"),
		ctl("get", "", "--from-key", "-w", "json"),
	}
	etcd := hosttest.StartMember(t, hosttest.WithBinary(hosttest.EtcdBin(t)))
	ms := startPluginMember(t, "rocksdb")
	want := runScript(t, etcd, steps)
	got := runScript(t, ms, steps)
	for i := range want {
		require.Equal(t, want[i], got[i], "step %d differs from etcd", i)
	}
	require.Contains(t, ms.Output(), `"logger":"plugin.storage.rocksdb-plugin"`, "plugin logs in the host log")

	before, err := ms.Etcdctl(t, "get", "", "--from-key", "-w", "json")
	require.NoError(t, err)
	ms.Restart(t)
	after, err := ms.Etcdctl(t, "get", "", "--from-key", "-w", "json")
	require.NoError(t, err)
	require.Equal(t, mask(before), mask(after))
}

// TestPluginKilledDuringWrites SIGKILLs the RocksDB plugin process while
// clients write. The member fails stop, starts a new plugin process, replays
// the WAL, and serves again; every acknowledged write is there.
func TestPluginKilledDuringWrites(t *testing.T) {
	m := startPluginMember(t, "rocksdb", hosttest.WithArgs("--snapshot-count", "500"))
	first := m.ChildPid(t, "metastore-stora")
	cli := m.Client(t)
	var (
		mu    sync.Mutex
		acked []ackedPut
		wg    sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const writers, perWriter = 8, 300
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				// A put that fails is not retried under the same key: if it
				// was applied after all, its revision stays with its key.
				key, val := fmt.Sprintf("w/p/%02d/%05d", w, i), fmt.Sprintf("v-%d-%d", w, i)
				cctx, ccancel := context.WithTimeout(ctx, 3*time.Second)
				resp, err := cli.Put(cctx, key, val)
				ccancel()
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					time.Sleep(50 * time.Millisecond)
					continue
				}
				mu.Lock()
				acked = append(acked, ackedPut{key, val, resp.Header.Revision})
				mu.Unlock()
			}
		})
	}
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= writers*perWriter/4
	}, 30*time.Second, 5*time.Millisecond)
	require.NoError(t, syscall.Kill(first, syscall.SIGKILL))
	wg.Wait()

	require.Contains(t, m.Output(), "member restarted after a storage engine failure")
	second := m.ChildPid(t, "metastore-stora")
	require.NotEqual(t, first, second, "a new plugin process")
	mu.Lock()
	defer mu.Unlock()
	require.Greater(t, len(acked), writers*perWriter/2, "writes went on after the restart")
	requireAcked(t, cli, acked)
}

// TestTamperedPluginRefused: a plugin binary whose checksum differs from
// the catalog's is not started, and the member says why.
func TestTamperedPluginRefused(t *testing.T) {
	orig := pluginBin(t, "bbolt")
	bin := filepath.Join(t.TempDir(), "metastore-storage-bbolt")
	data, err := os.ReadFile(orig)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bin, data, 0o755))
	sum := fileSum(t, bin)
	f, err := os.OpenFile(bin, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte("tampered"))
	require.NoError(t, err)
	require.NoError(t, f.Close())

	file := filepath.Join(t.TempDir(), "metastore.yaml")
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(
		"storage-engine: evil\nplugins:\n  - {kind: storage, name: evil, path: %s, sha256: %s}\n", bin, sum)), 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, hosttest.MetastoreBin(t), "--config-file", file,
		"--data-dir", filepath.Join(t.TempDir(), "data"),
		"--listen-client-urls", "http://127.0.0.1:0", "--advertise-client-urls", "http://127.0.0.1:1",
		"--listen-peer-urls", "http://127.0.0.1:0", "--initial-advertise-peer-urls", "http://127.0.0.1:1")
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr, "the member must refuse to start: %s", out)
	require.Contains(t, string(out), "checksum mismatch")
	require.Contains(t, string(out), "refusing to start it")
	require.Contains(t, string(out), sum, "the expected checksum is named")
}

// TestNoPluginOrphansAfterHostKill: when the host dies by SIGKILL, its plugin
// process dies with it.
func TestNoPluginOrphansAfterHostKill(t *testing.T) {
	m := startPluginMember(t, "rocksdb")
	_, err := m.Etcdctl(t, "put", "k", "v")
	require.NoError(t, err)
	pid := m.ChildPid(t, "metastore-stora")
	m.Kill()
	require.Eventually(t, func() bool { return !hosttest.Alive(pid) }, 10*time.Second, 20*time.Millisecond,
		"plugin process %d outlived its host", pid)
}
