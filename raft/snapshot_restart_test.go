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
