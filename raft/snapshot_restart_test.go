package raft

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/metastore/metastore/raft/wal"
)

// A follower's engine restored from a leader's snapshot holds the state the
// leader had when it streamed the snapshot, which can be past the raft
// snapshot's index and past the follower's WAL. Such a restart is allowed
// once the WAL records the snapshot; the entries the engine has are
// skipped, and raft continues from its log.
func TestRestartWithEngineAheadOfWAL(t *testing.T) {
	c := newTestCluster(t, func(cfg *Config) {
		cfg.SnapshotCount = 20
		cfg.SnapshotCatchUpEntries = 5
	})
	lead := waitLeader(t, c.running()...)
	var lagging uint64 = 1
	if lead == lagging {
		lagging = 2
	}
	c.stop(lagging)
	proposeN(t, c.net.node(lead), 0, 100)
	n := c.start(lagging, 0)
	require.Eventually(t, func() bool {
		c.appliers[lagging].mu.Lock()
		defer c.appliers[lagging].mu.Unlock()
		return len(c.appliers[lagging].snapshots) > 0
	}, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return n.AppliedIndex() >= c.net.node(lead).AppliedIndex() },
		10*time.Second, 10*time.Millisecond)
	c.stop(lagging)

	// The cluster moves on; the follower's engine is then "restored" to
	// the leader's applied index, beyond its own WAL.
	proposeN(t, c.net.node(lead), 100, 30)
	engineIndex := c.net.node(lead).AppliedIndex()
	w, st, err := wal.Open(c.dirs[lagging], wal.Options{Logger: zaptest.NewLogger(t)})
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NotNil(t, st.Snapshot)
	require.Greater(t, engineIndex, st.LastIndex())

	n = c.start(lagging, engineIndex)
	require.Equal(t, engineIndex, n.AppliedIndex())
	proposeAndWait(t, n, "after-restart")
	require.Equal(t, []string{"after-restart"}, c.appliers[lagging].normal(),
		"entries the engine already holds are not applied again")
	for _, i := range c.appliers[lagging].indexes() {
		require.Greater(t, i, engineIndex)
	}

	// Without a snapshot in the WAL, an engine past the log is refused.
	cfg := testConfig(t, t.TempDir())
	m := startNode(t, cfg, &testApplier{}, 0)
	proposeN(t, m, 0, 3)
	last := m.AppliedIndex()
	m.Stop()
	_, err = Start(cfg, &testApplier{}, last+10)
	require.ErrorIs(t, err, ErrIndexMismatch)
}

// At a restart the engine can be more than SnapshotCount entries past the
// WAL's snapshot: raft then hands the entries between the two out again,
// a Ready at a time, while the engine's applied index already calls for a
// snapshot. The snapshot must not compact the log past what raft has
// handed out, or raft finds the next entries gone and panics.
func TestRestartWithEngineFarPastTheWALSnapshot(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.SnapshotCount = 50
	cfg.SnapshotCatchUpEntries = 10
	cfg.MaxSizePerMsg = 512 // a few entries per Ready
	a := &testApplier{manualPersist: true}
	n := startNode(t, cfg, a, 0)
	proposeN(t, n, 0, 100)
	snapshotAt := a.indexes()[60]
	a.persisted.Store(snapshotAt)
	proposeN(t, n, 100, 60) // takes the WAL snapshot at snapshotAt
	a.persisted.Store(0)    // and no later one
	proposeN(t, n, 160, 3*int(cfg.SnapshotCount))
	applied := n.AppliedIndex()
	n.Stop()
	_, st, err := wal.Open(dir, wal.Options{Logger: zaptest.NewLogger(t)})
	require.NoError(t, err)
	require.Equal(t, snapshotAt, st.SnapshotIndex())
	require.Greater(t, applied, snapshotAt+2*cfg.SnapshotCount)

	// The engine holds, durably, everything applied before the stop.
	a2 := &testApplier{manualPersist: true}
	a2.persisted.Store(applied)
	n2 := startNode(t, cfg, a2, applied)
	waitLeader(t, n2)
	proposeAndWait(t, n2, "after-restart")
	require.Equal(t, []string{"after-restart"}, a2.normal())
	require.NoError(t, n2.Err())
}
