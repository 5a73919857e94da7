package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
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
// A snapshot is due snapshotCount entries after the applied index the last
// one was taken at (the member logs both), and is taken at the index the
// engine had flushed by then, a little behind. So the test writes until a
// snapshot is logged, then up to one entry before the next is due, and
// stops: the engine is then at least snapshotCount entries past the WAL's
// snapshot, which it checks in the data directory before restarting.
func TestRestartWithEngineFarPastTheWALSnapshot(t *testing.T) {
	const snapshotCount = 100
	m := hosttest.StartMember(t, hosttest.WithArgs(
		"--snapshot-count", fmt.Sprint(snapshotCount), "--snapshot-catchup-entries", "10"))
	value := strings.Repeat("v", 20<<10) // 100 entries are 2 MiB, two Readies at least
	written := 0
	put := func(cli *clientv3.Client) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := cli.Put(ctx, fmt.Sprintf("k%05d", written), value)
		require.NoError(t, err)
		written++
	}
	for attempt := 0; ; attempt++ {
		require.Less(t, attempt, 5, "no stop left the engine %d entries past the WAL snapshot", snapshotCount)
		cli := m.Client(t)
		seen := len(snapshotsTaken(m.Output()))
		for len(snapshotsTaken(m.Output())) == seen {
			put(cli)
		}
		due := snapshotsTaken(m.Output())[seen][1] + snapshotCount
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			st, err := cli.Status(ctx, m.Endpoint())
			cancel()
			require.NoError(t, err)
			if st.RaftAppliedIndex+1 >= due {
				break
			}
			put(cli)
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

// snapshotsTaken returns the index and applied index of each raft
// snapshot a member's log output reports, in order.
func snapshotsTaken(output string) [][2]uint64 {
	var out [][2]uint64
	for _, m := range snapshotTakenAt.FindAllStringSubmatch(output, -1) {
		i, _ := strconv.ParseUint(m[1], 10, 64)
		a, _ := strconv.ParseUint(m[2], 10, 64)
		out = append(out, [2]uint64{i, a})
	}
	return out
}

var snapshotTakenAt = regexp.MustCompile(`"msg":"raft: snapshot taken","index":(\d+),"term":\d+,"applied-index":(\d+)`)

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
