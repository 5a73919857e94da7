package mvcc

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// rangeFixture writes, one txn each: a=1 (2), b=1 (3), c=1 (4), b=2 (5),
// delete a (6), d=1 (7), "" is never written.
func rangeFixture(t *testing.T) *Store {
	s, _ := newTestStore(t)
	runSteps(s, []step{{"a=1"}, {"b=1"}, {"c=1"}, {"b=2"}, {"-a"}, {"d=1"}})
	require.Equal(t, int64(7), s.Rev())
	return s
}

func TestRange(t *testing.T) {
	a1 := kv("a", "1", 2, 2, 1)
	b1, b2 := kv("b", "1", 3, 3, 1), kv("b", "2", 3, 5, 2)
	c1, d1 := kv("c", "1", 4, 4, 1), kv("d", "1", 7, 7, 1)
	tests := []struct {
		name      string
		key, end  string // end "nil" means nil
		ro        RangeOptions
		want      []*mvccpb.KeyValue
		wantCount int
	}{
		{"single key", "b", "nil", RangeOptions{}, []*mvccpb.KeyValue{b2}, 1},
		{"single missing key", "x", "nil", RangeOptions{}, nil, 0},
		{"single deleted key", "a", "nil", RangeOptions{}, nil, 0},
		{"half-open range", "b", "d", RangeOptions{}, []*mvccpb.KeyValue{b2, c1}, 2},
		{"empty range when end <= key", "c", "b", RangeOptions{}, nil, 0},
		{"from key", "c", "\x00", RangeOptions{}, []*mvccpb.KeyValue{c1, d1}, 2},
		{"all keys", "\x00", "\x00", RangeOptions{}, []*mvccpb.KeyValue{b2, c1, d1}, 3},
		{"limit keeps count", "\x00", "\x00", RangeOptions{Limit: 2}, []*mvccpb.KeyValue{b2, c1}, 3},
		{"limit above count", "\x00", "\x00", RangeOptions{Limit: 10}, []*mvccpb.KeyValue{b2, c1, d1}, 3},
		{"past revision", "\x00", "\x00", RangeOptions{Rev: 4}, []*mvccpb.KeyValue{a1, b1, c1}, 3},
		{"past revision of one key", "b", "nil", RangeOptions{Rev: 4}, []*mvccpb.KeyValue{b1}, 1},
		{"before creation", "d", "nil", RangeOptions{Rev: 6}, nil, 0},
		{"revision 1 is empty", "\x00", "\x00", RangeOptions{Rev: 1}, nil, 0},
		{"keys only", "b", "d", RangeOptions{KeysOnly: true}, []*mvccpb.KeyValue{kv("b", "", 3, 5, 2), kv("c", "", 4, 4, 1)}, 2},
		{"count only", "\x00", "\x00", RangeOptions{CountOnly: true, Limit: 1}, nil, 3},
		{"count only at a past revision", "a", "b", RangeOptions{CountOnly: true, Rev: 5}, nil, 1},
	}
	s := rangeFixture(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var end []byte
			if tt.end != "nil" {
				end = []byte(tt.end)
			}
			res, err := s.Range(context.Background(), []byte(tt.key), end, tt.ro)
			require.NoError(t, err)
			assert.Equal(t, int64(7), res.Rev, "the current revision, whatever was read")
			assert.Equal(t, tt.wantCount, res.Count)
			requireKVs(t, tt.want, res.KVs)
			if tt.ro.KeysOnly {
				for _, kv := range res.KVs {
					assert.Nil(t, kv.Value)
				}
			}
		})
	}
}

func TestRangeErrors(t *testing.T) {
	s := rangeFixture(t)
	_, err := s.Compact(100, 4)
	require.NoError(t, err)
	tests := []struct {
		name string
		rev  int64
		want error
	}{
		{"future revision", 8, ErrFutureRev},
		{"compacted revision", 3, ErrCompacted},
		{"the compaction revision itself", 4, nil},
		{"current", 7, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, ro := range []RangeOptions{{Rev: tt.rev}, {Rev: tt.rev, KeysOnly: true}, {Rev: tt.rev, CountOnly: true}} {
				_, err := s.Range(context.Background(), []byte("a"), []byte("z"), ro)
				if tt.want == nil {
					require.NoError(t, err)
				} else {
					require.ErrorIs(t, err, tt.want)
				}
			}
		})
	}
}

func TestRangeCanceledContext(t *testing.T) {
	s := rangeFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Range(ctx, []byte("a"), nil, RangeOptions{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestRangeValueSources(t *testing.T) {
	tests := []struct {
		name         string
		ro           RangeOptions
		flush        bool
		cache        int64
		wantGetManys int64
	}{
		{"keys only never reads the engine", RangeOptions{KeysOnly: true}, true, -1, 0},
		{"count only never reads the engine", RangeOptions{CountOnly: true}, true, -1, 0},
		{"unflushed values come from the buffer", RangeOptions{}, false, -1, 0},
		{"flushed values come from the cache", RangeOptions{}, true, 1 << 20, 0},
		{"without cache, one GetMany per range", RangeOptions{}, true, -1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := &countingEngine{Engine: newMemEngine()}
			s := openStore(t, eng, Config{FlushInterval: time.Hour, CacheBytes: tt.cache})
			for _, k := range []string{"a", "b", "c", "d"} {
				put(s, k, "v"+k)
			}
			if tt.flush {
				require.NoError(t, s.Flush(context.Background()))
			}
			getManys, scans := eng.getManys.Load(), eng.scans.Load()
			res, err := s.Range(context.Background(), []byte("a"), []byte("z"), tt.ro)
			require.NoError(t, err)
			assert.Equal(t, 4, res.Count)
			if !tt.ro.KeysOnly && !tt.ro.CountOnly {
				require.Len(t, res.KVs, 4)
				assert.Equal(t, "vc", string(res.KVs[2].Value))
			}
			assert.Equal(t, tt.wantGetManys, eng.getManys.Load()-getManys)
			assert.Equal(t, scans, eng.scans.Load())
		})
	}
}

// TestRangeValuesFromEverySource: a range longer than fillBatch whose
// values are spread, key by key, over the engine, the value cache, the
// write buffer and the reading transaction's own writes gets each key's
// latest value, and reads the engine once for all the values it misses.
func TestRangeValuesFromEverySource(t *testing.T) {
	const keys = 3*fillBatch + 17
	value := func(i, gen int) string { return fmt.Sprintf("v%d.%d", i, gen) }
	eng := &countingEngine{Engine: newMemEngine()}
	// The cache holds about a third of the values the flush gives it.
	s := openStore(t, eng, Config{FlushInterval: time.Hour, CacheBytes: keys / 3 * entryCost([]byte(value(0, 0)))})
	want := make(map[string]string)
	key := func(i int) string { return fmt.Sprintf("k%04d", i) }
	for i := range keys {
		put(s, key(i), value(i, 0))
		want[key(i)] = value(i, 0)
	}
	require.NoError(t, s.Flush(context.Background())) // to the engine, the latest third also to the cache
	for i := 0; i < keys; i += 3 {
		put(s, key(i), value(i, 1)) // to the buffer
		want[key(i)] = value(i, 1)
	}
	tw := s.Write(s.ConsistentIndex() + 1)
	for i := 1; i < keys; i += 5 {
		tw.Put([]byte(key(i)), []byte(value(i, 2)), 0) // the transaction's own
		want[key(i)] = value(i, 2)
	}
	getManys := eng.getManys.Load()
	res, err := tw.Range(context.Background(), []byte("k"), []byte("l"), RangeOptions{})
	require.NoError(t, err)
	tw.End()
	require.Len(t, res.KVs, keys)
	for _, kv := range res.KVs {
		require.Equal(t, want[string(kv.Key)], string(kv.Value), "key %s", kv.Key)
	}
	require.Equal(t, int64(1), eng.getManys.Load()-getManys, "one engine read for every value the memory missed")
}

func TestLeasedKeys(t *testing.T) {
	s := openStore(t, newMemEngine(), testConfig)
	for key, lease := range map[string]int64{"a": 7, "b": 0, "c": 7, "d": 9} {
		tw := s.Write(0)
		tw.Put([]byte(key), []byte("v"), lease)
		tw.End()
	}
	tw := s.Write(0)
	tw.DeleteRange([]byte("c"), nil)
	tw.End()
	got := map[string]int64{}
	s.LeasedKeys(func(key []byte, lease int64) { got[string(key)] = lease })
	assert.Equal(t, map[string]int64{"a": 7, "d": 9}, got, "live keys with a lease, the deleted one left out")
}

// TestPooledRange: a pooled range answers as an unpooled one; small ranges
// are not pooled; Release empties the result and zeroes what goes back to
// the pool, so the pool pins no key or value.
func TestPooledRange(t *testing.T) {
	s, _ := newTestStore(t)
	for i := range 300 {
		put(s, fmt.Sprintf("k%03d", i), fmt.Sprintf("v%d", i))
	}
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		end    string
		pooled bool
	}{
		{"a large range", "k300", true},
		{"a range of fewer than 64 keys", "k010", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want, err := s.Range(ctx, []byte("k"), []byte(tt.end), RangeOptions{})
			require.NoError(t, err)
			got, err := s.Range(ctx, []byte("k"), []byte(tt.end), RangeOptions{Pooled: true})
			require.NoError(t, err)
			require.Equal(t, tt.pooled, got.Pooled())
			require.False(t, want.Pooled())
			requireKVs(t, want.KVs, got.KVs)
			require.Equal(t, want.Count, got.Count)

			kvs := got.KVs
			slab := got.slab
			got.Release()
			require.Nil(t, got.KVs)
			require.False(t, got.Pooled())
			if tt.pooled {
				for i := range slab.slab {
					require.Nil(t, slab.slab[i].Key, "KV %d keeps its key", i)
					require.Nil(t, slab.slab[i].Value, "KV %d keeps its value", i)
				}
				require.Nil(t, kvs[0], "the pointers are cleared too")
			}
			got.Release() // a second release does nothing
		})
	}
}
