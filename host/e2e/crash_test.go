package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

type ackedPut struct {
	key, value string
	rev        int64
}

// writeUntilKilled runs writers against m, SIGKILLs m while they run, and
// returns every put the server acknowledged.
func writeUntilKilled(t *testing.T, m *hosttest.Process, round, writers, perWriter int) []ackedPut {
	t.Helper()
	cli := m.Client(t)
	var (
		mu    sync.Mutex
		acked []ackedPut
		wg    sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				key, val := fmt.Sprintf("w/%d/%02d/%05d", round, w, i), fmt.Sprintf("v-%d-%d", w, i)
				cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
				resp, err := cli.Put(cctx, key, val)
				ccancel()
				if err != nil {
					return // the server is gone
				}
				mu.Lock()
				acked = append(acked, ackedPut{key, val, resp.Header.Revision})
				mu.Unlock()
			}
		}()
	}
	// Kill once a good number of writes were acknowledged, so the kill
	// lands in the middle of the load.
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= writers*perWriter/4
	}, 30*time.Second, 5*time.Millisecond)
	m.Kill()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return append([]ackedPut(nil), acked...)
}

// requireAcked checks that every acknowledged put survived with its value
// and revision, and that revisions are unique.
func requireAcked(t *testing.T, cli *clientv3.Client, acked []ackedPut) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "w/", clientv3.WithPrefix())
	require.NoError(t, err)
	got := make(map[string][2]any, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		got[string(kv.Key)] = [2]any{string(kv.Value), kv.ModRevision}
	}
	revs := make(map[int64]string)
	for _, a := range acked {
		g, ok := got[a.key]
		require.True(t, ok, "acknowledged put of %s lost", a.key)
		require.Equal(t, [2]any{a.value, a.rev}, g, "acknowledged put of %s changed", a.key)
		prev, dup := revs[a.rev]
		require.False(t, dup, "%s and %s acknowledged at one revision", prev, a.key)
		revs[a.rev] = a.key
	}
	// Revisions are dense: everything the store holds fits 2..Rev with no
	// gap, so no write was dropped between acknowledged ones.
	all := make([]int64, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		all = append(all, kv.ModRevision)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	for i, r := range all {
		require.Equal(t, int64(i+2), r, "revision gap")
	}
}

func TestCrashLosesNothingAcknowledged(t *testing.T) {
	m := hosttest.StartMember(t, hosttest.WithArgs("--snapshot-count", "500"))
	acked := writeUntilKilled(t, m, 1, 8, 400)
	require.NotEmpty(t, acked)
	m.Restart(t)
	requireAcked(t, m.Client(t), acked)

	// Kill again right away and once more: recovery of a recovered store.
	acked2 := writeUntilKilled(t, m, 2, 4, 200)
	m.Restart(t)
	requireAcked(t, m.Client(t), append(acked, acked2...))
}

func TestCleanRestartKeepsEverything(t *testing.T) {
	m := hosttest.StartMember(t)
	cli := m.Client(t)
	ctx := context.Background()
	for i := range 50 {
		_, err := cli.Put(ctx, fmt.Sprintf("k%02d", i), fmt.Sprint(i))
		require.NoError(t, err)
	}
	_, err := cli.Delete(ctx, "k1", clientv3.WithPrefix())
	require.NoError(t, err)
	_, err = cli.Compact(ctx, 10)
	require.NoError(t, err)
	before, err := cli.Get(ctx, "", clientv3.WithFromKey())
	require.NoError(t, err)

	require.NoError(t, m.Stop())
	m.Restart(t)
	cli = m.Client(t)
	after, err := cli.Get(ctx, "", clientv3.WithFromKey())
	require.NoError(t, err)
	require.Equal(t, before.Header.Revision, after.Header.Revision)
	require.Equal(t, before.Kvs, after.Kvs)
	_, err = cli.Get(ctx, "k05", clientv3.WithRev(9))
	require.ErrorContains(t, err, "required revision has been compacted", "the compaction survives a restart")
}

// TestTornWALTailIsRepaired appends half a record to the WAL, as a crash in
// the middle of a write leaves it, and expects a clean start with all data.
func TestTornWALTailIsRepaired(t *testing.T) {
	m := hosttest.StartMember(t)
	cli := m.Client(t)
	ctx := context.Background()
	for i := range 20 {
		_, err := cli.Put(ctx, fmt.Sprintf("t%02d", i), "v")
		require.NoError(t, err)
	}
	m.Kill()
	last := lastWALSegment(t, m.DataDir())
	// The segment is preallocated: the half record goes into the zeros
	// after the last record (past any zero bytes that record ends with).
	b, err := os.ReadFile(last)
	require.NoError(t, err)
	records := int64(len(bytes.TrimRight(b, "\x00")))
	f, err := os.OpenFile(last, os.O_WRONLY, 0)
	require.NoError(t, err)
	// A record of 1 KiB whose first bytes reached the disk: the sectors
	// after them are still zeros, which is what makes it a torn write.
	_, err = f.WriteAt([]byte{0, 0x04, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3}, records+64)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	m.Restart(t)
	resp, err := m.Client(t).Get(ctx, "t", clientv3.WithPrefix(), clientv3.WithCountOnly())
	require.NoError(t, err)
	require.Equal(t, int64(20), resp.Count)
}

func lastWALSegment(t *testing.T, dataDir string) string {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dataDir, "member", "wal", "*.wal"))
	require.NoError(t, err)
	require.NotEmpty(t, segs)
	sort.Strings(segs)
	return segs[len(segs)-1]
}
