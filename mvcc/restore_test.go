package mvcc

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/storage"
)

func TestRestartRebuildsTheIndex(t *testing.T) {
	tests := []struct {
		name      string
		compactAt int64 // 0: none
	}{
		{"without compaction", 0},
		{"after compaction", 6},
		{"after compaction at a tombstone", 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := newMemEngine()
			s := openStore(t, eng, testConfig)
			runSteps(s, compactionHistory)
			tw := s.Write(50)
			tw.Put([]byte("leased"), []byte("x"), 42) // 10
			tw.End()
			if tt.compactAt != 0 {
				done, err := s.Compact(51, tt.compactAt)
				require.NoError(t, err)
				waitDone(t, done)
			}
			put(s, "a", "4") // 11, left unflushed until Close
			before := snapshotRanges(t, s)
			require.NoError(t, s.Close())
			assert.Equal(t, s.ConsistentIndex(), s.PersistedIndex(), "Close flushes")

			s2 := openStore(t, eng, testConfig)
			assert.Equal(t, s.Rev(), s2.Rev())
			assert.Equal(t, s.CompactRev(), s2.CompactRev())
			assert.Equal(t, s.ConsistentIndex(), s2.ConsistentIndex())
			after := snapshotRanges(t, s2)
			require.Equal(t, len(before), len(after))
			for i := range before {
				requireKVs(t, before[i].KVs, after[i].KVs)
				assert.Equal(t, before[i].Count, after[i].Count)
			}
			leases := map[string]int64{}
			s2.LeasedKeys(func(key []byte, lease int64) { leases[string(key)] = lease })
			assert.Equal(t, map[string]int64{"leased": 42}, leases)
		})
	}
}

// snapshotRanges reads every key at every readable revision.
func snapshotRanges(t *testing.T, s *Store) []*RangeResult {
	t.Helper()
	var out []*RangeResult
	for rev := max(1, s.CompactRev()); rev <= s.Rev(); rev++ {
		out = append(out, rangeAll(t, s, rev))
	}
	return out
}

func TestNewRejectsCorruptEngine(t *testing.T) {
	eng := newMemEngine()
	_, err := eng.ApplyBatch(context.Background(), storageBatch(nsKey, []byte("not a revision"), []byte("x")))
	require.NoError(t, err)
	_, err = New(nil, eng, 0, Config{})
	require.ErrorIs(t, err, storage.ErrCorrupt)
}
