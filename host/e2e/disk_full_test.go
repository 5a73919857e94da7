package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"

	"github.com/metastore/metastore/host/hosttest"
)

// mountTmpfs mounts a tmpfs of size (mount's notation, e.g. "100m") on a
// new directory and unmounts it when the test ends. It needs root, which
// `make test` has.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("mounting a tmpfs needs root: run `make test` as root")
	}
	dir := filepath.Join(t.TempDir(), "tmpfs")
	require.NoError(t, os.Mkdir(dir, 0o700))
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput()
	require.NoError(t, err, "mount: %s", out)
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// A WAL disk that fills up stops the member, as it stops etcd: once a WAL
// write fails the WAL cannot be trusted, so the process exits non-zero
// with the error instead of staying up refusing every write. With space
// back, the restarted member holds every write it acknowledged.
func TestFullWALDiskStopsTheMember(t *testing.T) {
	wal := mountTmpfs(t, "100m") // one 64 MiB segment fits, the second does not
	m := hosttest.StartMember(t, hosttest.WithArgs("--wal-dir", filepath.Join(wal, "wal")))
	cli := m.Client(t)
	value := strings.Repeat("x", 100<<10)
	var acked []string
	for i := 0; i < 2000; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		key := fmt.Sprintf("k%04d", i)
		_, err := cli.Put(ctx, key, value)
		cancel()
		if err != nil {
			break
		}
		acked = append(acked, key)
	}
	require.NotEmpty(t, acked)
	require.Less(t, len(acked), 2000, "the disk never filled")
	require.Eventually(t, func() bool { return !m.Running() }, 30*time.Second, 50*time.Millisecond,
		"the member exits once its WAL cannot be written")
	var exit *exec.ExitError
	require.True(t, errors.As(m.ExitErr(), &exit) && exit.ExitCode() != 0, "a non-zero exit: %v", m.ExitErr())
	require.Contains(t, m.Output(), "no space left on device")

	out, err := exec.Command("mount", "-o", "remount,size=300m", wal).CombinedOutput()
	require.NoError(t, err, "remount: %s", out)
	m.Restart(t)
	cli = hosttest.NewClient(t, m.Endpoint())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "k", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	require.NoError(t, err)
	have := map[string]bool{}
	for _, kv := range resp.Kvs {
		have[string(kv.Key)] = true
	}
	for _, k := range acked {
		require.True(t, have[k], "acknowledged %s is lost", k)
	}
	_, err = cli.Put(ctx, "after", "space is back")
	require.NoError(t, err)
}

// A full disk under the storage engine (the WAL elsewhere) fails the
// engine's next write: the member stops serving, clients get Unavailable
// or a timeout (never Unknown), and it restarts in process with a growing
// backoff, reopening the engine from disk and replaying the WAL, without
// ever retrying the failed write on the same files. Once there is space
// again it serves on its own, with every write it acknowledged. The same
// holds whether the engine is built in or served by a plugin process.
func TestFullEngineDiskFailsStopAndRecovers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		engine func(t *testing.T) []hosttest.Option // options selecting the engine
	}{
		{name: "built-in bbolt", engine: func(*testing.T) []hosttest.Option { return nil }},
		{name: "bbolt plugin", engine: func(t *testing.T) []hosttest.Option {
			bin := pluginBin(t, "bbolt")
			return []hosttest.Option{pluginConfig(t, "bbolt", bin, fileSum(t, bin))}
		}},
		{name: "RocksDB plugin", engine: func(t *testing.T) []hosttest.Option {
			bin := pluginBin(t, "rocksdb")
			return []hosttest.Option{pluginConfig(t, "rocksdb", bin, fileSum(t, bin))}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { fillEngineDiskAndRecover(t, tc.engine(t)) })
	}
}

// fillEngineDiskAndRecover runs TestFullEngineDiskFailsStopAndRecovers
// on a member started with engine's options.
func fillEngineDiskAndRecover(t *testing.T, engine []hosttest.Option) {
	data := mountTmpfs(t, "40m")
	wal := filepath.Join(t.TempDir(), "wal")
	// The data dir given last wins over the one hosttest gives.
	m := hosttest.StartMember(t, append(engine,
		hosttest.WithArgs("--data-dir", filepath.Join(data, "member"), "--wal-dir", wal))...)
	cli := m.Client(t)
	value := strings.Repeat("x", 100<<10)
	var acked []string
	var failure error
	for i := 0; i < 2000 && failure == nil; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		key := fmt.Sprintf("k%04d", i)
		if _, err := cli.Put(ctx, key, value); err != nil {
			failure = err
		} else {
			acked = append(acked, key)
		}
		cancel()
	}
	require.Error(t, failure, "the engine's disk never filled")
	require.Contains(t, []codes.Code{codes.Unavailable, codes.DeadlineExceeded}, codeOf(failure), "the failed put: %v", failure)
	require.Eventually(t, func() bool { return strings.Contains(m.Output(), "storage engine failed") }, 30*time.Second, 50*time.Millisecond)
	// RocksDB spells the error "No space left on device".
	require.Contains(t, strings.ToLower(m.Output()), "no space left on device")

	out, err := exec.Command("mount", "-o", "remount,size=400m", data).CombinedOutput()
	require.NoError(t, err, "remount: %s", out)
	var resp *clientv3.GetResponse
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		resp, err = hosttest.NewClient(t, m.Endpoint()).Get(ctx, "k", clientv3.WithPrefix(), clientv3.WithKeysOnly())
		return err == nil
	}, 90*time.Second, 500*time.Millisecond, "the member serves again once there is space")
	have := map[string]bool{}
	for _, kv := range resp.Kvs {
		have[string(kv.Key)] = true
	}
	for _, k := range acked {
		require.True(t, have[k], "acknowledged %s is lost", k)
	}
	require.True(t, m.Running(), "the process never exited: it restarted the member in place")
}
