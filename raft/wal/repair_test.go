package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
)

// writeTen writes entries 1..10, one Save each, and returns the only
// segment's path and its size before the last entry was written. The
// segment is cut to its records (as one written where preallocation is not
// supported), so that damage at its end is damage to the last record.
func writeTen(t *testing.T, dir string) (string, int64) {
	t.Helper()
	w := mustCreate(t, dir, testOpts(t))
	for i := uint64(1); i < 10; i++ {
		require.NoError(t, w.Save(nil, ents(i, i, 1), true))
	}
	before := w.size
	require.NoError(t, w.Save(nil, ents(10, 10, 1), true))
	end := w.size
	require.NoError(t, w.Close())
	files, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	require.NoError(t, os.Truncate(files[0], end))
	return files[0], before
}

// TestPreallocatedSegment: a segment is preallocated to the segment size;
// a replay stops at the zeros after the last record, and the reopened WAL
// appends right after it, not after the zeros.
func TestPreallocatedSegment(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Logger: zaptest.NewLogger(t), SegmentSize: 1 << 20}
	w := mustCreate(t, dir, opts)
	require.NoError(t, w.Save(hardState(1, 1, 1), ents(1, 5, 1), true))
	end := w.size
	require.NoError(t, w.Close())
	files, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	fi, err := os.Stat(files[0])
	require.NoError(t, err)
	require.EqualValues(t, 1<<20, fi.Size(), "preallocated to the segment size")

	w, st := mustOpen(t, dir, opts)
	requireEntries(t, ents(1, 5, 1), st.Entries)
	require.Equal(t, end, w.size, "positioned after the last record")
	require.NoError(t, w.Save(nil, ents(6, 6, 1), true))
	require.NoError(t, w.Close())

	_, st = mustOpen(t, dir, opts)
	requireEntries(t, ents(1, 6, 1), st.Entries)
	fi, err = os.Stat(files[0])
	require.NoError(t, err)
	require.EqualValues(t, 1<<20, fi.Size(), "written into the preallocated space, no repair")
}

// TestPreallocatedSegmentWithTornRecord: a torn record in the preallocated
// space (its first bytes written, the rest still zeros) is cut away with
// the zeros after it.
func TestPreallocatedSegmentWithTornRecord(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Logger: zaptest.NewLogger(t), SegmentSize: 1 << 20}
	w := mustCreate(t, dir, opts)
	require.NoError(t, w.Save(nil, ents(1, 5, 1), true))
	end := w.size
	require.NoError(t, w.Close())
	files, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	require.NoError(t, err)
	f, err := os.OpenFile(files[0], os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte{0x40, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, byte(recEntry)}, end)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	w, st := mustOpen(t, dir, opts)
	requireEntries(t, ents(1, 5, 1), st.Entries)
	require.NoError(t, w.Save(nil, ents(6, 6, 2), true))
	require.NoError(t, w.Close())
	_, st = mustOpen(t, dir, opts)
	requireEntries(t, append(ents(1, 5, 1), ents(6, 6, 2)...), st.Entries)
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	des, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, de := range des {
		b, err := os.ReadFile(filepath.Join(src, de.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, de.Name()), b, 0o600))
	}
	return dst
}

func TestTornTailAtEveryOffset(t *testing.T) {
	src := t.TempDir()
	seg, before := writeTen(t, src)
	full, err := os.ReadFile(seg)
	require.NoError(t, err)
	for cut := before; cut < int64(len(full)); cut++ {
		dir := copyDir(t, src)
		path := filepath.Join(dir, filepath.Base(seg))
		require.NoError(t, os.Truncate(path, cut))

		w, st, err := Open(dir, testOpts(t))
		require.NoErrorf(t, err, "cut at %d", cut)
		requireEntries(t, ents(1, 9, 1), st.Entries)
		// The repaired WAL takes new writes and reads back cleanly.
		require.NoError(t, w.Save(nil, ents(10, 10, 2), true))
		require.NoError(t, w.Close())
		_, st = mustOpen(t, dir, testOpts(t))
		require.Len(t, st.Entries, 10)
		require.EqualValues(t, 2, st.Entries[9].GetTerm())
	}
}

func TestTornTailVariants(t *testing.T) {
	tests := []struct {
		name   string
		damage func(b []byte, before int) []byte
	}{
		{"last record's end still zeros", func(b []byte, before int) []byte {
			clear(b[max(before+headerSize, len(b)-sectorSize):])
			return append(b, make([]byte, sectorSize)...)
		}},
		{"zero-filled tail", func(b []byte, before int) []byte {
			return append(b, make([]byte, 4096)...)
		}},
		{"last record zeroed", func(b []byte, before int) []byte {
			clear(b[before:])
			return b
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			seg, before := writeTen(t, dir)
			b, err := os.ReadFile(seg)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(seg, tt.damage(b, int(before)), 0o600))
			_, st := mustOpen(t, dir, testOpts(t))
			require.GreaterOrEqual(t, len(st.Entries), 9)
			requireEntries(t, ents(1, 9, 1), st.Entries[:9])
		})
	}
}

func TestCorruptionFollowedByDataIsAnError(t *testing.T) {
	dir := t.TempDir()
	seg, before := writeTen(t, dir)
	b, err := os.ReadFile(seg)
	require.NoError(t, err)
	// Damage a record in the middle: the one before the last.
	b[before-2] ^= 0x01
	require.NoError(t, os.WriteFile(seg, b, 0o600))

	_, _, err = Open(dir, testOpts(t))
	require.ErrorIs(t, err, ErrCorrupt)
	require.Contains(t, err.Error(), "wal: corrupt record at segment "+filepath.Base(seg)+" offset ")
	after, err := os.ReadFile(seg)
	require.NoError(t, err)
	require.Equal(t, b, after, "a failed open changes nothing")
}

// TestFlippedBitInLastRecordIsAnError: a record written whole whose bits
// changed since is corruption, even as the last record: it may have been
// acknowledged, so it is never cut away as a torn tail.
func TestFlippedBitInLastRecordIsAnError(t *testing.T) {
	for _, tt := range []struct {
		name string
		at   func(before, size int) int
	}{
		{"payload", func(before, size int) int { return size - 1 }},
		{"checksum", func(before, size int) int { return before + 5 }},
		{"type", func(before, size int) int { return before + 8 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			seg, before := writeTen(t, dir)
			b, err := os.ReadFile(seg)
			require.NoError(t, err)
			b[tt.at(int(before), len(b))] ^= 0x10
			require.NoError(t, os.WriteFile(seg, b, 0o600))

			_, _, err = Open(dir, testOpts(t))
			require.ErrorIs(t, err, ErrCorrupt)
			require.Contains(t, err.Error(), fmt.Sprintf("wal: corrupt record at segment %s offset %d", filepath.Base(seg), before))
			after, err := os.ReadFile(seg)
			require.NoError(t, err)
			require.Equal(t, b, after, "a failed open changes nothing")
		})
	}
}

func TestCorruptionInOlderSegmentIsAnError(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Logger: zaptest.NewLogger(t), SegmentSize: 512}
	w := mustCreate(t, dir, opts)
	for i := uint64(1); i <= 60; i++ {
		require.NoError(t, w.Save(nil, ents(i, i, 1), true))
	}
	require.Greater(t, w.SegmentCount(), 2)
	require.NoError(t, w.Close())
	segs, err := listSegments(dir)
	require.NoError(t, err)
	first := filepath.Join(dir, segs[0].name())
	b, err := os.ReadFile(first)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(first, b[:len(b)-3], 0o600), "a torn end, but not of the last segment")

	_, _, err = Open(dir, opts)
	require.ErrorIs(t, err, ErrCorrupt)
	require.Contains(t, err.Error(), segs[0].name())
}

func TestMissingSegmentIsAnError(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Logger: zaptest.NewLogger(t), SegmentSize: 512}
	w := mustCreate(t, dir, opts)
	for i := uint64(1); i <= 60; i++ {
		require.NoError(t, w.Save(nil, ents(i, i, 1), true))
	}
	require.Greater(t, w.SegmentCount(), 2)
	require.NoError(t, w.Close())
	segs, err := listSegments(dir)
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(dir, segs[1].name())))
	_, _, err = Open(dir, opts)
	require.ErrorIs(t, err, ErrCorrupt)
}
