package raft

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/metastore/metastore/raft/wal"
)

func walFiles(t *testing.T, dir string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	require.NoError(t, err)
	return len(files)
}

func proposeN(t *testing.T, n *Node, from, count int) {
	t.Helper()
	data := make([]string, count)
	for i := range data {
		data[i] = fmt.Sprintf("value-%04d-%s", from+i, "padding-padding-padding")
	}
	proposeAndWait(t, n, data...)
}

func TestSnapshotHonoursPersistedIndexAndReleasesWAL(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.SnapshotCount = 50
	cfg.SnapshotCatchUpEntries = 10
	cfg.WALSegmentSize = 2048
	a := &testApplier{manualPersist: true}
	n, err := Start(cfg, a, 0)
	require.NoError(t, err)
	t.Cleanup(n.Stop)

	proposeN(t, n, 0, 200)
	segs := walFiles(t, dir)
	require.Greater(t, segs, 5)
	first, err := n.storage.FirstIndex()
	require.NoError(t, err)
	require.EqualValues(t, 1, first, "nothing is durable in the engine: no snapshot, no compaction")

	persisted := a.indexes()[150]
	a.persisted.Store(persisted)
	proposeN(t, n, 200, 60)
	require.Eventually(t, func() bool { return walFiles(t, dir) < segs }, 5*time.Second, 10*time.Millisecond)
	first, err = n.storage.FirstIndex()
	require.NoError(t, err)
	require.Equal(t, persisted-cfg.SnapshotCatchUpEntries+1, first, "compaction keeps the catch-up margin")
	applied := n.AppliedIndex()
	n.Stop()

	w, st, err := wal.Open(dir, wal.Options{Logger: zaptest.NewLogger(t)})
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.Equal(t, persisted, st.SnapshotIndex(), "snapshot at min(applied, persisted)")
	require.Equal(t, []uint64{1}, st.Snapshot.GetConfState().GetVoters())
	require.Equal(t, persisted+1, st.Entries[0].GetIndex())

	_, err = Start(cfg, &testApplier{}, persisted-1)
	require.ErrorIs(t, err, ErrIndexMismatch, "an engine older than the WAL snapshot is refused")

	// A restart from the snapshot knows the membership without the
	// compacted bootstrap entry and leads again.
	a2 := &testApplier{}
	n2 := startNode(t, cfg, a2, applied)
	waitLeader(t, n2)
	proposeAndWait(t, n2, "after-restart")
	require.Equal(t, []string{"after-restart"}, a2.normal())
}

func TestSnapshotSkippedWhileEngineLags(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.SnapshotCount = 20
	cfg.WALSegmentSize = 1024
	a := &testApplier{manualPersist: true}
	n := startNode(t, cfg, a, 0)
	proposeN(t, n, 0, 100)
	n.Stop()
	_, st, err := wal.Open(dir, wal.Options{Logger: zaptest.NewLogger(t)})
	require.NoError(t, err)
	require.Nil(t, st.Snapshot)
	require.EqualValues(t, 1, st.Entries[0].GetIndex(), "every entry is kept while the engine persisted nothing")
}

func TestConfLog(t *testing.T) {
	c := newConfLog(10, nil)
	c.add(12, cs(1, 2))
	c.add(15, cs(1, 2, 3))
	require.Empty(t, c.at(11).GetVoters())
	require.Equal(t, []uint64{1, 2}, c.at(14).GetVoters())
	require.Equal(t, []uint64{1, 2, 3}, c.at(15).GetVoters())
	require.Equal(t, []uint64{1, 2, 3}, c.current().GetVoters())
	c.compact(13)
	require.Equal(t, []uint64{1, 2}, c.at(13).GetVoters())
	require.Equal(t, []uint64{1, 2, 3}, c.at(20).GetVoters())
	require.Len(t, c.states, 2)
}

func TestStartRefusesCorruptWAL(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	n, err := Start(cfg, &testApplier{}, 0)
	require.NoError(t, err)
	proposeN(t, n, 0, 20)
	n.Stop()

	files, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	// Inside some record, with valid records after it (the segment is
	// preallocated: its records end where its zeros begin).
	records := len(bytes.TrimRight(b, "\x00"))
	b[records/2] ^= 0x40
	require.NoError(t, os.WriteFile(files[0], b, 0o600))

	_, err = Start(cfg, &testApplier{}, 0)
	require.ErrorIs(t, err, ErrCorruptWAL)
	require.Contains(t, err.Error(), "wal: corrupt record at segment ")
}
