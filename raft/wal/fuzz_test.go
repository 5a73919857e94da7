package wal

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// seedSegment returns the records of a small valid segment (without the
// zeros it is preallocated with).
func seedSegment(f *testing.F) []byte {
	dir := f.TempDir()
	w, err := Create(dir, testMD, Options{Logger: zap.NewNop()})
	require.NoError(f, err)
	require.NoError(f, w.Save(hardState(1, 1, 2), ents(1, 3, 1), true))
	require.NoError(f, w.SaveSnapshot(snapMeta(2, 1, 1)))
	end := w.size
	require.NoError(f, w.Close())
	b, err := os.ReadFile(filepath.Join(dir, segment{seq: 1, firstIndex: 1}.name()))
	require.NoError(f, err)
	return b[:end]
}

func FuzzDecodeRecord(f *testing.F) {
	seg := seedSegment(f)
	f.Add(seg)
	f.Add(seg[:headerSize])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r replay
		rec, n, err := decodeRecord(b)
		if err != nil {
			return
		}
		if n < headerSize || n > len(b) {
			t.Fatalf("decoded size %d out of range for %d bytes", n, len(b))
		}
		_ = r.apply(rec)
		_, _ = r.finish()
		_ = hasValidRecord(b)
	})
}

func FuzzReadAll(f *testing.F) {
	seg := seedSegment(f)
	f.Add(seg)
	f.Add(seg[:len(seg)-5])
	f.Add(append(append([]byte{}, seg...), 0, 0, 0, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, segment{seq: 1, firstIndex: 1}.name())
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		w, st, err := Open(dir, Options{Logger: zap.NewNop()})
		if err != nil {
			return
		}
		require.NoError(t, w.Close())
		// A repaired WAL opens again to the same state.
		w2, st2, err := Open(dir, Options{Logger: zap.NewNop()})
		require.NoError(t, err)
		require.NoError(t, w2.Close())
		require.Equal(t, st.LastIndex(), st2.LastIndex())
		require.Equal(t, len(st.Entries), len(st2.Entries))
	})
}
