package wal

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"
)

var testMD = Metadata{MemberID: 0x1234, ClusterID: 0xabcd}

func ent(index, term uint64, data string) *raftpb.Entry {
	return &raftpb.Entry{Index: &index, Term: &term, Type: raftpb.EntryNormal.Enum(), Data: []byte(data)}
}

func ents(lo, hi, term uint64) []*raftpb.Entry {
	var out []*raftpb.Entry
	for i := lo; i <= hi; i++ {
		out = append(out, ent(i, term, "data"))
	}
	return out
}

func hardState(term, vote, commit uint64) *raftpb.HardState {
	return &raftpb.HardState{Term: &term, Vote: &vote, Commit: &commit}
}

func snapMeta(index, term uint64, voters ...uint64) *raftpb.SnapshotMetadata {
	return &raftpb.SnapshotMetadata{Index: &index, Term: &term, ConfState: &raftpb.ConfState{Voters: voters}}
}

func testOpts(t *testing.T) Options {
	return Options{Logger: zaptest.NewLogger(t)}
}

func mustCreate(t *testing.T, dir string, opts Options) *WAL {
	t.Helper()
	w, err := Create(dir, testMD, opts)
	require.NoError(t, err)
	return w
}

func mustOpen(t *testing.T, dir string, opts Options) (*WAL, *State) {
	t.Helper()
	w, st, err := Open(dir, opts)
	require.NoError(t, err)
	t.Cleanup(func() { w.Close() })
	return w, st
}

func requireEntries(t *testing.T, want, got []*raftpb.Entry) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		require.Truef(t, proto.Equal(want[i], got[i]), "entry %d: want %v, got %v", i, want[i], got[i])
	}
}

func TestCreateOpenRoundtrip(t *testing.T) {
	dir := t.TempDir()
	w := mustCreate(t, dir, testOpts(t))
	want := ents(1, 20, 1)
	require.NoError(t, w.Save(hardState(1, 1, 10), want[:10], true))
	require.NoError(t, w.Save(hardState(1, 1, 20), want[10:], true))
	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "Close is idempotent")

	_, st := mustOpen(t, dir, testOpts(t))
	require.Equal(t, testMD, st.Metadata)
	require.Nil(t, st.Snapshot)
	require.True(t, proto.Equal(hardState(1, 1, 20), st.HardState))
	requireEntries(t, want, st.Entries)
}

func TestCreateTwiceFails(t *testing.T) {
	dir := t.TempDir()
	w := mustCreate(t, dir, testOpts(t))
	require.NoError(t, w.Close())
	_, err := Create(dir, testMD, testOpts(t))
	require.ErrorIs(t, err, ErrExist)
}

func TestOpenMissing(t *testing.T) {
	_, _, err := Open(filepath.Join(t.TempDir(), "none"), testOpts(t))
	require.ErrorIs(t, err, ErrNotExist)
	ok, err := Exist(filepath.Join(t.TempDir(), "none"))
	require.NoError(t, err)
	require.False(t, ok)
}

func TestReplaySemantics(t *testing.T) {
	tests := []struct {
		name      string
		write     func(w *WAL) error
		wantSnap  uint64
		wantFirst uint64
		wantLast  uint64
		wantTerm  uint64 // term of the last entry
	}{
		{
			name: "overwrite uncommitted tail",
			write: func(w *WAL) error {
				if err := w.Save(nil, ents(1, 10, 1), true); err != nil {
					return err
				}
				return w.Save(hardState(2, 2, 4), ents(5, 7, 2), true)
			},
			wantFirst: 1, wantLast: 7, wantTerm: 2,
		},
		{
			name: "local snapshot keeps later entries",
			write: func(w *WAL) error {
				if err := w.Save(hardState(1, 1, 10), ents(1, 10, 1), true); err != nil {
					return err
				}
				return w.SaveSnapshot(snapMeta(6, 1, 1))
			},
			wantSnap: 6, wantFirst: 7, wantLast: 10, wantTerm: 1,
		},
		{
			name: "snapshot from leader past the log resets it",
			write: func(w *WAL) error {
				if err := w.Save(hardState(1, 1, 3), ents(1, 10, 1), true); err != nil {
					return err
				}
				if err := w.SaveSnapshot(snapMeta(20, 3, 1, 2, 3)); err != nil {
					return err
				}
				return w.Save(hardState(3, 2, 22), ents(21, 22, 3), true)
			},
			wantSnap: 20, wantFirst: 21, wantLast: 22, wantTerm: 3,
		},
		{
			name: "snapshot with a different term at its index drops the tail",
			write: func(w *WAL) error {
				if err := w.Save(hardState(1, 1, 3), ents(1, 10, 1), true); err != nil {
					return err
				}
				return w.SaveSnapshot(snapMeta(8, 2, 1))
			},
			wantSnap: 8, wantFirst: 0, wantLast: 8,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			w := mustCreate(t, dir, testOpts(t))
			require.NoError(t, tt.write(w))
			require.NoError(t, w.Close())
			_, st := mustOpen(t, dir, testOpts(t))
			require.Equal(t, tt.wantSnap, st.SnapshotIndex())
			require.Equal(t, tt.wantLast, st.LastIndex())
			if tt.wantFirst == 0 {
				require.Empty(t, st.Entries)
				return
			}
			require.Equal(t, tt.wantFirst, st.Entries[0].GetIndex())
			require.Equal(t, tt.wantTerm, st.Entries[len(st.Entries)-1].GetTerm())
		})
	}
}

func TestAppendAfterReopen(t *testing.T) {
	dir := t.TempDir()
	w := mustCreate(t, dir, testOpts(t))
	require.NoError(t, w.Save(hardState(1, 1, 5), ents(1, 5, 1), true))
	require.NoError(t, w.Close())

	w, _ = mustOpen(t, dir, testOpts(t))
	require.NoError(t, w.Save(hardState(1, 1, 8), ents(6, 8, 1), true))
	require.NoError(t, w.Close())

	_, st := mustOpen(t, dir, testOpts(t))
	requireEntries(t, ents(1, 8, 1), st.Entries)
	require.EqualValues(t, 8, st.HardState.GetCommit())
}

func TestSegmentRolloverAndRelease(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Logger: zaptest.NewLogger(t), SegmentSize: 1024}
	w := mustCreate(t, dir, opts)
	for i := uint64(1); i <= 200; i += 10 {
		require.NoError(t, w.Save(hardState(1, 1, i+9), ents(i, i+9, 1), true))
	}
	segs := w.SegmentCount()
	require.Greater(t, segs, 3, "200 entries in 1 KiB segments roll over")

	require.NoError(t, w.ReleaseTo(150), "no snapshot yet: nothing is released")
	require.Equal(t, segs, w.SegmentCount())

	require.NoError(t, w.SaveSnapshot(snapMeta(150, 1, 1)))
	require.NoError(t, w.ReleaseTo(150))
	require.Less(t, w.SegmentCount(), segs)
	files, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	require.NoError(t, err)
	require.Len(t, files, w.SegmentCount())
	require.NoError(t, w.Close())

	_, st := mustOpen(t, dir, opts)
	require.EqualValues(t, 150, st.SnapshotIndex())
	requireEntries(t, ents(151, 200, 1), st.Entries)
	require.EqualValues(t, 200, st.HardState.GetCommit())
	require.Equal(t, testMD, st.Metadata)
}

func TestReleaseKeepsStateWhenEverySegmentIsOld(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Logger: zaptest.NewLogger(t), SegmentSize: 512}
	w := mustCreate(t, dir, opts)
	require.NoError(t, w.Save(hardState(3, 1, 100), ents(1, 100, 3), true))
	require.NoError(t, w.SaveSnapshot(snapMeta(100, 3, 1)))
	// Force more segments without new entries or HardStates.
	for range 3 {
		require.NoError(t, w.cut())
	}
	require.NoError(t, w.ReleaseTo(100))
	require.Equal(t, 1, w.SegmentCount())
	require.NoError(t, w.Close())

	_, st := mustOpen(t, dir, opts)
	require.EqualValues(t, 100, st.SnapshotIndex())
	require.Empty(t, st.Entries)
	require.True(t, proto.Equal(hardState(3, 1, 100), st.HardState))
}

func TestSaveCountsSyncs(t *testing.T) {
	dir := t.TempDir()
	w := mustCreate(t, dir, testOpts(t))
	defer w.Close()
	before := w.SyncCount()
	require.NoError(t, w.Save(hardState(1, 1, 0), ents(1, 100, 1), true))
	require.Equal(t, before+1, w.SyncCount(), "one fsync for a batch")
	require.NoError(t, w.Save(nil, ents(101, 101, 1), false))
	require.Equal(t, before+1, w.SyncCount(), "no fsync when not asked")
}

func TestIgnoresUnrelatedFiles(t *testing.T) {
	dir := t.TempDir()
	w := mustCreate(t, dir, testOpts(t))
	require.NoError(t, w.Save(nil, ents(1, 3, 1), true))
	require.NoError(t, w.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "0000000000000002-0000000000000004.wal.tmp"), []byte("x"), 0o600))
	_, st := mustOpen(t, dir, testOpts(t))
	requireEntries(t, ents(1, 3, 1), st.Entries)
	_, err := os.Stat(filepath.Join(dir, "0000000000000002-0000000000000004.wal.tmp"))
	require.ErrorIs(t, err, os.ErrNotExist, "a leftover temporary segment is removed")
}

func TestWriteObserverSeesTheBytesAppended(t *testing.T) {
	dir := t.TempDir()
	w := mustCreate(t, dir, testOpts(t))
	defer w.Close()
	// The segment is preallocated: its records end at the write offset.
	segSize := func() int64 {
		off, err := w.f.Seek(0, io.SeekCurrent)
		require.NoError(t, err)
		return off
	}
	before := segSize()
	writes, bytes := 0, 0
	w.SetWriteObserver(func(n int, took time.Duration) {
		require.GreaterOrEqual(t, took, time.Duration(0))
		writes++
		bytes += n
	})
	require.NoError(t, w.Save(hardState(1, 1, 0), ents(1, 100, 1), true))
	require.NoError(t, w.Save(nil, nil, false))
	require.NoError(t, w.SaveSnapshot(snapMeta(50, 1)))
	require.Equal(t, 2, writes, "one write per Save or SaveSnapshot with records, none without")
	require.EqualValues(t, segSize()-before, bytes)
	w.SetWriteObserver(nil)
	require.NoError(t, w.Save(nil, ents(101, 101, 1), false))
	require.Equal(t, 2, writes)
}

// After a failed fsync the WAL never syncs again, not even in Close: a
// second fsync could succeed for pages the kernel dropped. Every later
// write answers ErrFailed with the first failure, and a reopen replays
// what reached the disk.
func TestFailedSyncIsNeverRetried(t *testing.T) {
	dir := t.TempDir()
	w := mustCreate(t, dir, testOpts(t))
	require.NoError(t, w.Save(hardState(1, 1, 1), ents(1, 1, 1), true))
	syncs := 0
	w.syncFile = func(*os.File) error {
		syncs++
		return syscall.EIO
	}

	err := w.Save(hardState(1, 1, 2), ents(2, 2, 1), true)
	require.ErrorIs(t, err, syscall.EIO)
	require.ErrorContains(t, err, "wal: sync segment")
	for name, later := range map[string]func() error{
		"Save":         func() error { return w.Save(nil, ents(3, 3, 1), true) },
		"SaveSnapshot": func() error { return w.SaveSnapshot(snapMeta(1, 1, 1)) },
		"Sync":         w.Sync,
	} {
		err := later()
		require.ErrorIs(t, err, ErrFailed, name)
		require.ErrorIs(t, err, syscall.EIO, name)
	}
	require.NoError(t, w.Close(), "Close closes the segment without syncing it")
	require.Equal(t, 1, syncs, "the failed fsync is not retried")

	_, st := mustOpen(t, dir, testOpts(t))
	require.GreaterOrEqual(t, st.LastIndex(), uint64(1))
}

// TestZerosAheadOfTheRecords fills most of a segment, reopening it
// halfway: zeros stay written ahead of the records, never over them, and
// every entry replays.
func TestZerosAheadOfTheRecords(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts(t)
	opts.SegmentSize = 4 << 20
	w := mustCreate(t, dir, opts)
	payload := string(make([]byte, 1000))
	save := func(w *WAL, lo, hi uint64) {
		for i := lo; i <= hi; i++ {
			require.NoError(t, w.Save(hardState(1, 1, i), []*raftpb.Entry{ent(i, 1, payload)}, true))
			if writesZeros {
				require.GreaterOrEqual(t, w.zeroed, min(w.size+zeroAheadBytes/2, w.segmentSize), "after entry %d", i)
			}
		}
	}
	checkZeros := func(w *WAL) {
		b, err := os.ReadFile(filepath.Join(dir, w.segs[len(w.segs)-1].name()))
		require.NoError(t, err)
		require.True(t, allZero(b[w.size:w.zeroed]), "the zeros ahead of the records")
	}
	save(w, 1, 1500)
	checkZeros(w)
	require.NoError(t, w.Close())

	w, st := mustOpen(t, dir, opts)
	require.Len(t, st.Entries, 1500)
	require.Equal(t, w.size, w.zeroed, "reopened, only what is read back is known written")
	save(w, 1501, 3000)
	checkZeros(w)
	require.Len(t, w.segs, 1, "the entries fit one segment")
	require.NoError(t, w.Close())

	_, st = mustOpen(t, dir, opts)
	require.Len(t, st.Entries, 3000)
	for i, e := range st.Entries {
		require.Equal(t, uint64(i+1), e.GetIndex())
		require.Equal(t, payload, string(e.GetData()))
	}
}
