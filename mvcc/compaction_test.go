package mvcc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/metastore/metastore/pluginapi/storage"
)

// compactionHistory: a=1 (2), a=2 (3), b=1 (4), -b (5), c=1 (6), a=3 (7),
// -c (8), d=1 (9).
var compactionHistory = []step{{"a=1"}, {"a=2"}, {"b=1"}, {"-b"}, {"c=1"}, {"a=3"}, {"-c"}, {"d=1"}}

// engineRevs lists the revisions in the engine's "key" namespace as
// main_sub, with a trailing t for tombstones.
func engineRevs(t *testing.T, eng *memEngine) []string {
	t.Helper()
	var out []string
	for _, e := range eng.entries(nsKey) {
		rev, tomb, err := parseRevBytes(e.Key)
		require.NoError(t, err)
		s := rev.String()
		if tomb {
			s += "t"
		}
		out = append(out, s)
	}
	return out
}

func metaRev(t *testing.T, eng storage.Engine, key []byte) int64 {
	t.Helper()
	resp, err := eng.GetMany(context.Background(), storage.GetManyRequest{Namespace: nsMeta, Keys: [][]byte{key}})
	require.NoError(t, err)
	if !resp.Found[0] {
		return 0
	}
	return int64(binary.BigEndian.Uint64(resp.Values[0]))
}

func waitDone(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("compaction did not finish")
	}
}

func TestCompaction(t *testing.T) {
	tests := []struct {
		name     string
		revs     []int64 // compactions, in order
		wantEng  []string
		wantAtCR []*mvccpb.KeyValue // range of all keys at the last compaction revision
	}{
		{"keeps the latest of each live key and drops tombstoned keys", []int64{6},
			[]string{"3_0", "6_0", "7_0", "8_0t", "9_0"},
			[]*mvccpb.KeyValue{kv("a", "2", 2, 3, 2), kv("c", "1", 6, 6, 1)}},
		{"keeps a tombstone at exactly the compaction revision", []int64{6, 8},
			[]string{"7_0", "8_0t", "9_0"},
			[]*mvccpb.KeyValue{kv("a", "3", 2, 7, 3)}},
		{"a later compaction drops it", []int64{6, 8, 9},
			[]string{"7_0", "9_0"},
			[]*mvccpb.KeyValue{kv("a", "3", 2, 7, 3), kv("d", "1", 9, 9, 1)}},
		{"compacting at the current revision", []int64{9},
			[]string{"7_0", "9_0"},
			[]*mvccpb.KeyValue{kv("a", "3", 2, 7, 3), kv("d", "1", 9, 9, 1)}},
		{"compacting at 1 removes nothing", []int64{1},
			[]string{"2_0", "3_0", "4_0", "5_0t", "6_0", "7_0", "8_0t", "9_0"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, eng := newTestStore(t)
			runSteps(s, compactionHistory)
			var last int64
			for i, rev := range tt.revs {
				done, err := s.Compact(uint64(100+i), rev)
				require.NoError(t, err)
				waitDone(t, done)
				last = rev
			}
			require.NoError(t, s.Err())
			assert.Equal(t, tt.wantEng, engineRevs(t, eng))
			assert.Equal(t, last, s.CompactRev())
			assert.Equal(t, last, metaRev(t, eng, finishedCompactKey))
			assert.Equal(t, last, metaRev(t, eng, scheduledCompactKey))
			requireKVs(t, tt.wantAtCR, rangeAll(t, s, last).KVs)
			// Everything from the compaction revision on reads as before.
			requireKVs(t, []*mvccpb.KeyValue{kv("a", "3", 2, 7, 3), kv("d", "1", 9, 9, 1)}, rangeAll(t, s, 9).KVs)
			_, err := s.Range(context.Background(), []byte{0}, []byte{0}, RangeOptions{Rev: last - 1})
			if last > 1 {
				require.ErrorIs(t, err, ErrCompacted)
			}
		})
	}
}

func TestCompactErrors(t *testing.T) {
	s, _ := newTestStore(t)
	runSteps(s, compactionHistory)
	done, err := s.Compact(10, 5)
	require.NoError(t, err)

	tests := []struct {
		name  string
		rev   int64
		want  error
		index uint64
	}{
		{"at the compaction revision", 5, ErrCompacted, 11},
		{"before it", 3, ErrCompacted, 12},
		{"future revision", 10, ErrFutureRev, 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := s.Compact(tt.index, tt.rev)
			require.ErrorIs(t, err, tt.want)
			if errors.Is(err, ErrCompacted) {
				waitDone(t, ch) // a barrier behind the queued compaction
			}
			assert.Equal(t, tt.index, s.ConsistentIndex())
			assert.Equal(t, int64(5), s.CompactRev())
		})
	}
	waitDone(t, done)
}

// A store never compacted accepts a compaction at revision 0, as etcd's
// does: it removes nothing, makes CompactRev 0, and leaves its hash (of the
// empty store) answering HashKV at revision 0 until a restart.
func TestCompactAtZero(t *testing.T) {
	eng := newMemEngine()
	s := openStore(t, eng, testConfig)
	put(s, "a", "1") // 2
	assert.Equal(t, int64(-1), s.CompactRev())
	before, cr, hr, err := s.HashKV(0)
	require.NoError(t, err)
	assert.Equal(t, []int64{-1, 2}, []int64{cr, hr})

	done, err := s.Compact(10, 0)
	require.NoError(t, err)
	waitDone(t, done)
	assert.Equal(t, int64(0), s.CompactRev())
	empty := crc32.Checksum([]byte("key"), crc32.MakeTable(crc32.Castagnoli))
	h, cr, hr, err := s.HashKV(0)
	require.NoError(t, err)
	assert.Equal(t, []any{empty, int64(-1), int64(0)}, []any{h, cr, hr}, "HashKV(0) answers the compaction's hash")
	h, cr, hr, err = s.HashKV(2)
	require.NoError(t, err)
	assert.Equal(t, []any{before, int64(0), int64(2)}, []any{h, cr, hr})
	requireKVs(t, []*mvccpb.KeyValue{kv("a", "1", 2, 2, 1)}, rangeAll(t, s, 2).KVs)

	_, err = s.Compact(11, 0)
	require.ErrorIs(t, err, ErrCompacted)
	put(s, "b", "1") // 3
	require.NoError(t, s.Close())

	s2 := openStore(t, eng, testConfig)
	assert.Equal(t, int64(0), s2.CompactRev())
	_, err = s2.Compact(13, 0)
	require.ErrorIs(t, err, ErrCompacted)
	_, cr, hr, err = s2.HashKV(0)
	require.NoError(t, err)
	assert.Equal(t, []int64{0, 3}, []int64{cr, hr}, "the hash cache does not outlive a restart")
}

func TestCompactionPersistsAcrossRestart(t *testing.T) {
	eng := newMemEngine()
	s := openStore(t, eng, testConfig)
	runSteps(s, compactionHistory)
	done, err := s.Compact(20, 6)
	require.NoError(t, err)
	waitDone(t, done)
	put(s, "e", "1") // 10
	require.NoError(t, s.Close())

	s2 := openStore(t, eng, testConfig)
	assert.Equal(t, int64(6), s2.CompactRev())
	assert.Equal(t, int64(10), s2.Rev())
	assert.Equal(t, uint64(21), s2.ConsistentIndex())
	_, err = s2.Range(context.Background(), []byte("a"), nil, RangeOptions{Rev: 5})
	require.ErrorIs(t, err, ErrCompacted)
	requireKVs(t, []*mvccpb.KeyValue{kv("a", "2", 2, 3, 2), kv("c", "1", 6, 6, 1)}, rangeAll(t, s2, 6).KVs)
	_, err = s2.Compact(22, 6)
	require.ErrorIs(t, err, ErrCompacted)
}

func TestCompactionResumesAfterCrash(t *testing.T) {
	mem := newMemEngine()
	eng := &countingEngine{Engine: mem}
	s := openStore(t, eng, testConfig) // 3 keys per compaction batch
	runSteps(s, compactionHistory)
	var deleteBatches atomic.Int64
	failSecond := func(req storage.ApplyBatchRequest) error {
		if len(req.Ops) > 0 && req.Ops[0].Kind == storage.OpDelete && deleteBatches.Add(1) > 1 {
			return errors.New("crash")
		}
		return nil
	}
	eng.failIf.Store(&failSecond)
	done, err := s.Compact(30, 9)
	require.NoError(t, err)
	waitDone(t, done)
	require.Error(t, s.Err())
	assert.Equal(t, int64(9), metaRev(t, mem, scheduledCompactKey))
	assert.Equal(t, int64(0), metaRev(t, mem, finishedCompactKey))
	assert.Greater(t, len(engineRevs(t, mem)), 2, "part of the deletion is left")
	require.NoError(t, s.Close())

	eng.failIf.Store(nil)
	s2 := openStore(t, eng, testConfig)
	assert.Equal(t, int64(9), s2.CompactRev())
	assert.Equal(t, int64(9), s2.Rev())
	require.Eventually(t, func() bool { return metaRev(t, mem, finishedCompactKey) == 9 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, []string{"7_0", "9_0"}, engineRevs(t, mem))
	requireKVs(t, []*mvccpb.KeyValue{kv("a", "3", 2, 7, 3), kv("d", "1", 9, 9, 1)}, rangeAll(t, s2, 9).KVs)
}

func TestCompactionOfTrailingTombstoneKeepsRevision(t *testing.T) {
	eng := newMemEngine()
	s := openStore(t, eng, testConfig)
	runSteps(s, []step{{"a=1"}, {"-a"}, {"b=1"}, {"-b"}}) // 2..5
	done, err := s.Compact(40, 5)
	require.NoError(t, err)
	waitDone(t, done)
	done, err = s.Compact(41, 5)
	require.ErrorIs(t, err, ErrCompacted)
	waitDone(t, done)
	require.NoError(t, s.Close())

	s2 := openStore(t, eng, testConfig)
	assert.Equal(t, int64(5), s2.Rev(), "the revision never goes back")
	assert.Zero(t, rangeAll(t, s2, 0).Count)
}

// Compaction rests CompactionSleep between batches, as etcd's does, so
// that it yields the engine to the writes it competes with.
func TestCompactionSleepsBetweenBatches(t *testing.T) {
	cfg := testConfig
	cfg.CompactionBatch = 2
	cfg.CompactionSleep = 40 * time.Millisecond
	s := openStore(t, newMemEngine(), cfg)
	var last int64
	for i := range 10 {
		last = put(s, "k", fmt.Sprint(i))
	}
	start := time.Now()
	done, err := s.Compact(s.ConsistentIndex()+1, last)
	require.NoError(t, err)
	waitDone(t, done)
	require.NoError(t, s.Err())
	// 10 revisions in batches of 2: at least 5 batches, 4 rests between.
	require.GreaterOrEqual(t, time.Since(start), 4*cfg.CompactionSleep)
	requireKVs(t, []*mvccpb.KeyValue{kv("k", "9", 2, last, 10)}, rangeAll(t, s, last).KVs)
}
