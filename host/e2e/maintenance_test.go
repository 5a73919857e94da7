package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/metastore/metastore/host/hosttest"
)

// writeHistory gives m a history with overwrites, deletes and a
// compaction, and returns the revision it ends at.
func writeHistory(t *testing.T, cli *clientv3.Client) int64 {
	t.Helper()
	ctx := context.Background()
	for i := range 50 {
		_, err := cli.Put(ctx, fmt.Sprintf("k%02d", i%20), fmt.Sprintf("v%d", i))
		require.NoError(t, err)
	}
	_, err := cli.Delete(ctx, "k0", clientv3.WithPrefix())
	require.NoError(t, err)
	_, err = cli.Compact(ctx, 30, clientv3.WithCompactPhysical())
	require.NoError(t, err)
	resp, err := cli.Put(ctx, "last", "v")
	require.NoError(t, err)
	return resp.Header.Revision
}

// maintenanceHash returns the Hash RPC's answer (clientv3 has no call
// for it).
func maintenanceHash(t *testing.T, cli *clientv3.Client, endpoint string) uint32 {
	t.Helper()
	resp, err := pb.NewMaintenanceClient(cli.ActiveConnection()).Hash(context.Background(), &pb.HashRequest{})
	require.NoError(t, err)
	return resp.Hash
}

// corruptByte flips the byte at offset of file.
func corruptByte(t *testing.T, file string, offset int64) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	b := make([]byte, 1)
	_, err = f.ReadAt(b, offset)
	require.NoError(t, err)
	b[0] ^= 0xff
	_, err = f.WriteAt(b, offset)
	require.NoError(t, err)
}

// freePeerURL returns an http URL on a free loopback port.
func freePeerURL(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("http://127.0.0.1:%d", hosttest.FreePorts(t, 1)[0])
}

func allKVs(t *testing.T, cli *clientv3.Client) []string {
	t.Helper()
	resp, err := cli.Get(context.Background(), "", clientv3.WithPrefix())
	require.NoError(t, err)
	var out []string
	for _, kv := range resp.Kvs {
		out = append(out, fmt.Sprintf("%s=%s@%d/%d/%d", kv.Key, kv.Value, kv.CreateRevision, kv.ModRevision, kv.Version))
	}
	sort.Strings(out)
	return out
}

func TestSnapshotSaveRestoreKeepsDataAndHashKV(t *testing.T) {
	src := hosttest.StartMember(t)
	cli := src.Client(t)
	rev := writeHistory(t, cli)
	want := allKVs(t, cli)
	wantHash, err := cli.HashKV(context.Background(), src.Endpoint(), rev)
	require.NoError(t, err)

	file := filepath.Join(t.TempDir(), "snap.db")
	_, err = src.Etcdctl(t, "snapshot", "save", file)
	require.NoError(t, err)

	status, err := exec.Command(hosttest.MetastoreBin(t), "snapshot", "status", file, "-w", "json").Output()
	require.NoError(t, err)
	require.Contains(t, string(status), fmt.Sprintf(`"revision":%d`, rev))

	// The snapshot becomes the data dir of a member of a new cluster.
	dataDir := filepath.Join(t.TempDir(), "restored")
	peer := freePeerURL(t)
	out, err := exec.Command(hosttest.MetastoreBin(t), "snapshot", "restore", file,
		"--data-dir", dataDir, "--name", "restored", "--initial-cluster", "restored="+peer,
		"--initial-cluster-token", "new-cluster", "--initial-advertise-peer-urls", peer).CombinedOutput()
	require.NoError(t, err, string(out))

	dst := hosttest.StartMember(t, hosttest.WithName("restored"), hosttest.WithArgs(
		"--data-dir", dataDir, "--initial-cluster", "restored="+peer, "--initial-cluster-token", "new-cluster",
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer))
	dcli := dst.Client(t)
	require.Equal(t, want, allKVs(t, dcli))
	gotHash, err := dcli.HashKV(context.Background(), dst.Endpoint(), rev)
	require.NoError(t, err)
	require.Equal(t, wantHash.Hash, gotHash.Hash)
	require.Equal(t, wantHash.CompactRevision, gotHash.CompactRevision)
	_, err = dcli.Get(context.Background(), "k01", clientv3.WithRev(10))
	require.ErrorContains(t, err, "compacted")

	// The new cluster has only the new member, and takes writes.
	members, err := dcli.MemberList(context.Background())
	require.NoError(t, err)
	require.Len(t, members.Members, 1)
	require.Equal(t, "restored", members.Members[0].Name)
	put, err := dcli.Put(context.Background(), "after", "restore")
	require.NoError(t, err)
	require.Equal(t, rev+1, put.Header.Revision)
}

func TestSnapshotRestoreRefusesDamagedFileAndExistingDir(t *testing.T) {
	m := hosttest.StartMember(t)
	writeHistory(t, m.Client(t))
	file := filepath.Join(t.TempDir(), "snap.db")
	_, err := m.Etcdctl(t, "snapshot", "save", file)
	require.NoError(t, err)

	out, err := exec.Command(hosttest.MetastoreBin(t), "snapshot", "restore", file, "--data-dir", m.DataDir()).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "exists")

	corruptByte(t, file, 100)
	out, err = exec.Command(hosttest.MetastoreBin(t), "snapshot", "restore", file, "--data-dir", filepath.Join(t.TempDir(), "x")).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "SHA-256 mismatch")
}

func TestHashesStableAcrossRestart(t *testing.T) {
	m := hosttest.StartMember(t)
	cli := m.Client(t)
	rev := writeHistory(t, cli)
	ctx := context.Background()
	before, err := cli.HashKV(ctx, m.Endpoint(), rev)
	require.NoError(t, err)
	wholeBefore := maintenanceHash(t, cli, m.Endpoint())
	require.NoError(t, m.Stop())
	m.Restart(t)
	cli = m.Client(t)
	after, err := cli.HashKV(ctx, m.Endpoint(), rev)
	require.NoError(t, err)
	require.Equal(t, before.Hash, after.Hash)
	require.Equal(t, before.CompactRevision, after.CompactRevision)
	require.Equal(t, before.HashRevision, after.HashRevision)
	require.Equal(t, wholeBefore, maintenanceHash(t, cli, m.Endpoint()))
}

func TestHashKVMatchesEtcd(t *testing.T) {
	etcd, ms := servers(t)
	var got [2]string
	for i, m := range []*hosttest.Process{etcd, ms} {
		cli := m.Client(t)
		rev := writeHistory(t, cli)
		var parts []string
		for _, r := range []int64{0, 30, 31, rev - 1, rev} {
			h, err := cli.HashKV(context.Background(), m.Endpoint(), r)
			require.NoError(t, err)
			parts = append(parts, fmt.Sprintf("%d:%d/%d/%d", r, h.Hash, h.CompactRevision, h.HashRevision))
		}
		_, err := cli.HashKV(context.Background(), m.Endpoint(), 10)
		parts = append(parts, fmt.Sprint(err))
		got[i] = strings.Join(parts, " ")
	}
	require.Equal(t, got[0], got[1])
}

func TestMaintenanceCommandsMatchEtcd(t *testing.T) {
	requireSameAsEtcd(t, []step{
		ctl("alarm", "list"),
		ctl("alarm", "disarm"),
		ctl("put", "k", "v"),
		ctl("downgrade", "validate", "3.5"),
		ctl("downgrade", "validate", "x.y"),
		ctl("downgrade", "enable", "3.8"),
		ctl("downgrade", "cancel"),
		ctl("get", "k"),
	})
}

func TestDefragUnderWriteLoad(t *testing.T) {
	m := hosttest.StartMember(t)
	cli := m.Client(t)
	ctx := context.Background()
	// Some garbage to reclaim.
	for i := range 2000 {
		_, err := cli.Put(ctx, fmt.Sprintf("g%04d", i%500), strings.Repeat("x", 512))
		require.NoError(t, err)
	}
	resp, err := cli.Put(ctx, "mark", "")
	require.NoError(t, err)
	_, err = cli.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical())
	require.NoError(t, err)

	pause := runWriters(t, cli, 4, func() {
		for range 3 {
			_, err := m.Etcdctl(t, "defrag")
			require.NoError(t, err)
		}
	})
	t.Logf("longest put during defrag: %v", pause)
	out, err := m.Etcdctl(t, "endpoint", "status")
	require.NoError(t, err)
	require.Contains(t, out, m.Endpoint())
}

// runWriters runs n writers putting keys until during returns, requires
// that every put succeeds and returns the longest a put took.
func runWriters(t *testing.T, cli *clientv3.Client, n int, during func()) time.Duration {
	t.Helper()
	var stop atomic.Bool
	var longest atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				start := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := cli.Put(ctx, fmt.Sprintf("w%d/%d", w, i%200), "value")
				cancel()
				if err != nil {
					failed.Store(err)
					return
				}
				d := int64(time.Since(start))
				for old := longest.Load(); d > old && !longest.CompareAndSwap(old, d); old = longest.Load() {
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	during()
	stop.Store(true)
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		t.Fatalf("a put failed: %v", err)
	}
	return time.Duration(longest.Load())
}

func TestAutoCompactionRevisionMode(t *testing.T) {
	m := hosttest.StartMember(t, hosttest.WithArgs("--auto-compaction-mode", "revision",
		"--auto-compaction-retention", "10", "--auto-compaction-check-interval", "200ms"))
	cli := m.Client(t)
	ctx := context.Background()
	var rev int64
	for i := range 40 {
		resp, err := cli.Put(ctx, "k", fmt.Sprint(i))
		require.NoError(t, err)
		rev = resp.Header.Revision
	}
	require.Eventually(t, func() bool {
		st, err := cli.HashKV(ctx, m.Endpoint(), 0)
		return err == nil && st.CompactRevision == rev-10
	}, 10*time.Second, 100*time.Millisecond)
	_, err := cli.Get(ctx, "k", clientv3.WithRev(rev-11))
	require.ErrorContains(t, err, "compacted")
	_, err = cli.Get(ctx, "k", clientv3.WithRev(rev-10))
	require.NoError(t, err)
}

func TestAutoCompactionPeriodicMode(t *testing.T) {
	m := hosttest.StartMember(t, hosttest.WithArgs("--auto-compaction-mode", "periodic",
		"--auto-compaction-retention", "2s"))
	cli := m.Client(t)
	ctx := context.Background()
	first, err := cli.Put(ctx, "k", "first")
	require.NoError(t, err)
	// Keep writing: after one period, revisions older than a period go.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		_, err := cli.Put(ctx, "k", "v")
		require.NoError(t, err)
		h, err := cli.HashKV(ctx, m.Endpoint(), 0)
		require.NoError(t, err)
		if h.CompactRevision >= first.Header.Revision {
			_, err = cli.Get(ctx, "k", clientv3.WithRev(first.Header.Revision-1))
			require.ErrorContains(t, err, "compacted")
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no periodic compaction within 15s")
}

func TestAutoCompactionFlagsValidated(t *testing.T) {
	out, err := exec.Command(hosttest.MetastoreBin(t), "--data-dir", t.TempDir(),
		"--auto-compaction-mode", "revision", "--auto-compaction-retention", "1h").CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "revision mode")
}
