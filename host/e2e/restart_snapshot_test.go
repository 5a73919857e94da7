package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap/zaptest"

	"github.com/metastore/metastore/host/hosttest"
	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/plugins/storage/bbolt"
	"github.com/metastore/metastore/raft/wal"
)

// TestRestartWithEngineFarPastTheWALSnapshot restarts a member whose
// engine has applied more than --snapshot-count entries past the WAL's
// last raft snapshot, and more than one Ready's worth (1 MiB) of them. At
// the restart raft hands those entries out again while the engine already
// calls for a snapshot; that snapshot once compacted the log under raft,
// which panicked. The member must come back with every key.
//
// Where a stop leaves the two depends on when the last snapshot was taken
// (at the engine's last flush, up to 100 ms behind the writes), so the
// test writes and stops until a stop leaves the engine far enough past.
func TestRestartWithEngineFarPastTheWALSnapshot(t *testing.T) {
	const snapshotCount = 100
	m := hosttest.StartMember(t, hosttest.WithArgs(
		"--snapshot-count", fmt.Sprint(snapshotCount), "--snapshot-catchup-entries", "10"))
	value := strings.Repeat("v", 20<<10) // 100 entries are 2 MiB, two Readies at least
	written := 0
	for attempt := 0; ; attempt++ {
		require.Less(t, attempt, 20, "no stop left the engine %d entries past the WAL snapshot", snapshotCount)
		cli := m.Client(t)
		for range 150 {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := cli.Put(ctx, fmt.Sprintf("k%05d", written), value)
			cancel()
			require.NoError(t, err)
			written++
		}
		require.NoError(t, m.Stop())
		snap, applied := walSnapshotAndEngineIndex(t, m.DataDir())
		t.Logf("attempt %d: WAL snapshot at %d, engine at %d", attempt, snap, applied)
		m.Restart(t)
		if applied >= snap+snapshotCount {
			break
		}
	}
	cli := m.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "k", clientv3.WithPrefix(), clientv3.WithCountOnly())
	require.NoError(t, err)
	require.EqualValues(t, written, resp.Count, "every key is there after the restart")
	_, err = cli.Put(ctx, "after-restart", "1")
	require.NoError(t, err)
}

// walSnapshotAndEngineIndex reads, from a stopped member's data dir, the
// index of the WAL's last raft snapshot and the bbolt engine's applied
// index.
func walSnapshotAndEngineIndex(t *testing.T, dataDir string) (snapshot, applied uint64) {
	t.Helper()
	w, st, err := wal.Open(filepath.Join(dataDir, "member", "wal"), wal.Options{Logger: zaptest.NewLogger(t)})
	require.NoError(t, err)
	require.NoError(t, w.Close())
	ctx := context.Background()
	eng := bbolt.New()
	resp, err := eng.Open(ctx, storage.OpenRequest{Dir: filepath.Join(dataDir, "member", "engine")})
	require.NoError(t, err)
	require.NoError(t, eng.Close(ctx))
	return st.SnapshotIndex(), resp.ConsistentIndex
}
