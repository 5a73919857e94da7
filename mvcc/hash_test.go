package mvcc

import (
	"context"
	"hash/crc32"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHashKV(t *testing.T) {
	tests := []struct {
		name     string
		steps    []step
		rev      int64
		wantErr  error
		wantHash uint32 // 0: do not check
	}{
		{"empty store hashes the namespace name", nil, 0, nil, crc32.Checksum([]byte("key"), crc32.MakeTable(crc32.Castagnoli))},
		{"future revision", []step{{"a=1"}}, 3, ErrFutureRev, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestStore(t)
			runSteps(s, tt.steps)
			h, _, _, err := s.HashKV(tt.rev)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantHash, h)
		})
	}
}

func TestHashKVSameHistorySameHash(t *testing.T) {
	a, _ := newTestStore(t)
	b, _ := newTestStore(t)
	runSteps(a, compactionHistory)
	runSteps(b, compactionHistory)
	for rev := int64(1); rev <= 9; rev++ {
		ha, _, _, err := a.HashKV(rev)
		require.NoError(t, err)
		hb, _, hr, err := b.HashKV(rev)
		require.NoError(t, err)
		assert.Equal(t, ha, hb)
		assert.Equal(t, rev, hr)
	}
	h8, _, _, _ := a.HashKV(8)
	h9, _, _, _ := a.HashKV(9)
	assert.NotEqual(t, h8, h9)

	// A different value at one revision changes the hash.
	put(a, "z", "1")
	put(b, "z", "2")
	ha, _, _, _ := a.HashKV(0)
	hb, _, _, _ := b.HashKV(0)
	assert.NotEqual(t, ha, hb)
}

// TestHashKVIgnoresCompactionProgress hashes the engine as it was before a
// compaction deleted anything and compares with HashKV after it did.
func TestHashKVIgnoresCompactionProgress(t *testing.T) {
	for compactAt := int64(2); compactAt <= 9; compactAt++ {
		for hashAt := compactAt + 1; hashAt <= 9; hashAt++ {
			s, eng := newTestStore(t)
			runSteps(s, compactionHistory)
			require.NoError(t, s.Flush(context.Background()))
			before := eng.entries(nsKey)
			keep := s.index.keep(hashAt)

			done, err := s.Compact(50, compactAt)
			require.NoError(t, err)
			waitDone(t, done)
			got, cr, hr, err := s.HashKV(hashAt)
			require.NoError(t, err)
			require.Equal(t, compactAt, cr)
			require.Equal(t, hashAt, hr)

			h := newKVHasher(compactAt, hashAt, keep)
			for _, e := range before {
				require.True(t, h.write(e.Key, e.Value))
			}
			require.Equal(t, h.hash.Sum32(), got, "compact at %d, hash at %d", compactAt, hashAt)
		}
	}
	s, _ := newTestStore(t)
	runSteps(s, compactionHistory)
	_, err := s.Compact(1, 5)
	require.NoError(t, err)
	_, _, _, err = s.HashKV(4)
	require.ErrorIs(t, err, ErrCompacted)
}

func TestHashKVAtCompactionRevisionAnswersCompactionHash(t *testing.T) {
	s, eng := newTestStore(t)
	runSteps(s, compactionHistory)
	require.NoError(t, s.Flush(context.Background()))
	before := eng.entries(nsKey)
	keep := s.index.keep(5)
	done, err := s.Compact(50, 5)
	require.NoError(t, err)
	waitDone(t, done)

	// The first compaction hashes everything up to its revision that it
	// reads, from no compaction on.
	want := newKVHasher(0, 5, keep)
	for _, e := range before {
		want.write(e.Key, e.Value)
	}
	h, cr, hr, err := s.HashKV(5)
	require.NoError(t, err)
	assert.Equal(t, KeyValueHash{Hash: want.hash.Sum32(), CompactRevision: -1, Revision: 5}, KeyValueHash{h, cr, hr})

	put(s, "e", "1")
	done, err = s.Compact(51, 8)
	require.NoError(t, err)
	waitDone(t, done)
	h8, cr, hr, err := s.HashKV(8)
	require.NoError(t, err)
	assert.Equal(t, int64(5), cr)
	assert.Equal(t, int64(8), hr)
	// Below the compaction revision, the kept hash still answers.
	h5, cr, _, err := s.HashKV(5)
	require.NoError(t, err)
	assert.Equal(t, h, h5)
	assert.Equal(t, int64(-1), cr)
	_, _, _, err = s.HashKV(6)
	require.ErrorIs(t, err, ErrCompacted)
	assert.Equal(t, []KeyValueHash{{h, -1, 5}, {h8, 5, 8}}, s.CompactionHashes())
}

func TestCompactionHashesKeepsTheLastTen(t *testing.T) {
	var c compactionHashes
	for rev := int64(1); rev <= 15; rev++ {
		c.add(KeyValueHash{Hash: uint32(rev), Revision: rev})
	}
	require.Len(t, c.hashes, compactionHashesKept)
	_, ok := c.at(5)
	assert.False(t, ok)
	got, ok := c.at(15)
	assert.True(t, ok)
	assert.Equal(t, uint32(15), got.Hash)
}

// A member that has not run a compaction yet must answer HashKV at its
// revision with the hash the compaction takes elsewhere, or the
// compaction hash check would raise CORRUPT for nothing. As in etcd, this
// does not hold when no key is live at that revision (see
// TestHashKVWithNothingLiveHashesWhatCompactionLeft): etcd's HashKV then
// hashes what compaction left while the compaction, which keeps the last
// tombstone, applies its keep rule.
func TestCompactionHashEqualsHashKVBeforeTheCompaction(t *testing.T) {
	histories := map[string][]step{
		"keys live":    compactionHistory,
		"recreated":    {{"a=1"}, {"-a"}, {"a=2"}, {"b=1"}, {"-b"}},
		"single write": {{"a=1"}},
	}
	for name, history := range histories {
		t.Run(name, func(t *testing.T) {
			s, _ := newTestStore(t)
			runSteps(s, history)
			first := s.Rev() / 2
			done, err := s.Compact(100, first)
			require.NoError(t, err)
			waitDone(t, done)
			rev := s.Rev()
			want, wantCR, _, err := s.HashKV(rev)
			require.NoError(t, err)
			done, err = s.Compact(101, rev)
			require.NoError(t, err)
			waitDone(t, done)
			got, gotCR, _, err := s.HashKV(rev)
			require.NoError(t, err)
			assert.Equal(t, want, got)
			assert.Equal(t, wantCR, gotCR)
		})
	}
}

// When no key is live at the hashed revision, etcd hashes every revision
// up to the compaction that compaction left, kept or not at that revision;
// so does HashKV.
func TestHashKVWithNothingLiveHashesWhatCompactionLeft(t *testing.T) {
	s, eng := newTestStore(t)
	runSteps(s, []step{{"a=1"}, {"b=1"}}) // 2, 3
	done, err := s.Compact(50, 3)
	require.NoError(t, err)
	waitDone(t, done)
	runSteps(s, []step{{"-a"}, {"-b"}}) // 4, 5
	require.NoError(t, s.Flush(context.Background()))
	require.Empty(t, s.index.keep(5))

	want := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	want.Write([]byte("key"))
	entries := eng.entries(nsKey)
	require.Len(t, entries, 4)
	for _, e := range entries {
		want.Write(e.Key)
		want.Write(e.Value)
	}
	h, cr, hr, err := s.HashKV(5)
	require.NoError(t, err)
	assert.Equal(t, KeyValueHash{Hash: want.Sum32(), CompactRevision: 3, Revision: 5}, KeyValueHash{h, cr, hr})
}
