package mvcc

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/metastore/metastore/pluginapi/storage"
)

// step is one write transaction of a script: puts "k=v" or deletes "-k" or
// "-k..end".
type step []string

func runSteps(s *Store, steps []step) {
	for _, st := range steps {
		tw := s.Write(s.ConsistentIndex() + 1)
		for _, op := range st {
			switch {
			case op[0] == '-':
				key, end := op[1:], ""
				for i := 0; i+1 < len(key); i++ {
					if key[i:i+2] == ".." {
						key, end = key[:i], key[i+2:]
						break
					}
				}
				var e []byte
				if end != "" {
					e = []byte(end)
				}
				tw.DeleteRange([]byte(key), e)
			default:
				for i := range op {
					if op[i] == '=' {
						tw.Put([]byte(op[:i]), []byte(op[i+1:]), 0)
						break
					}
				}
			}
		}
		tw.End()
	}
}

func TestRevisionSemantics(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
		rev   int64
		want  []*mvccpb.KeyValue
	}{
		{"empty store is at 1", nil, 1, nil},
		{"first put", []step{{"a=1"}}, 2, []*mvccpb.KeyValue{kv("a", "1", 2, 2, 1)}},
		{"put twice keeps create, bumps version",
			[]step{{"a=1"}, {"a=2"}}, 3, []*mvccpb.KeyValue{kv("a", "2", 2, 3, 2)}},
		{"delete hides the key", []step{{"a=1"}, {"a=2"}, {"-a"}}, 4, nil},
		{"put after delete starts a generation",
			[]step{{"a=1"}, {"a=2"}, {"-a"}, {"a=3"}}, 5, []*mvccpb.KeyValue{kv("a", "3", 5, 5, 1)}},
		{"delete of nothing does not bump", []step{{"a=1"}, {"-b"}}, 2, []*mvccpb.KeyValue{kv("a", "1", 2, 2, 1)}},
		{"delete of a deleted key does not bump", []step{{"a=1"}, {"-a"}, {"-a"}}, 3, nil},
		{"empty txn does not bump", []step{{"a=1"}, {}}, 2, []*mvccpb.KeyValue{kv("a", "1", 2, 2, 1)}},
		{"one txn, one main revision",
			[]step{{"a=1", "b=1", "a=2"}}, 2,
			[]*mvccpb.KeyValue{kv("a", "2", 2, 2, 2), kv("b", "1", 2, 2, 1)}},
		{"delete then put in one txn",
			[]step{{"a=1"}, {"-a", "a=2"}}, 3, []*mvccpb.KeyValue{kv("a", "2", 3, 3, 1)}},
		{"put then delete in one txn", []step{{"a=1", "-a"}}, 2, nil},
		{"range delete",
			[]step{{"a=1", "b=1", "c=1"}, {"-a..c"}}, 3, []*mvccpb.KeyValue{kv("c", "1", 2, 2, 1)}},
		{"from-key delete", []step{{"a=1", "b=1", "c=1"}, {"-b..\x00"}}, 3, []*mvccpb.KeyValue{kv("a", "1", 2, 2, 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestStore(t)
			runSteps(s, tt.steps)
			assert.Equal(t, tt.rev, s.Rev())
			res := rangeAll(t, s, 0)
			assert.Equal(t, tt.rev, res.Rev)
			assert.Equal(t, len(tt.want), res.Count)
			requireKVs(t, tt.want, res.KVs)
		})
	}
}

func TestTxnWriteReadsOwnWrites(t *testing.T) {
	s, _ := newTestStore(t)
	put(s, "a", "1") // rev 2
	ctx := context.Background()
	tw := s.Write(10)
	assert.Equal(t, int64(2), tw.Rev())
	assert.Equal(t, int64(3), tw.Put([]byte("a"), []byte("2"), 7))
	assert.Equal(t, int64(3), tw.Put([]byte("b"), []byte("1"), 0))
	assert.Equal(t, int64(3), tw.Rev())

	res, err := tw.Range(ctx, []byte("a"), []byte("z"), RangeOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(3), res.Rev)
	want := []*mvccpb.KeyValue{kv("a", "2", 2, 3, 2), kv("b", "1", 3, 3, 1)}
	want[0].Lease = 7
	requireKVs(t, want, res.KVs)

	// Readers of the store see none of it yet.
	res, err = s.Range(ctx, []byte("a"), []byte("z"), RangeOptions{})
	require.NoError(t, err)
	requireKVs(t, []*mvccpb.KeyValue{kv("a", "1", 2, 2, 1)}, res.KVs)
	_, err = s.Range(ctx, []byte("a"), nil, RangeOptions{Rev: 3})
	require.ErrorIs(t, err, ErrFutureRev)

	n, rev := tw.DeleteRange([]byte("b"), nil)
	assert.Equal(t, int64(1), n)
	assert.Equal(t, int64(3), rev)
	res, err = tw.Range(ctx, []byte("b"), nil, RangeOptions{})
	require.NoError(t, err)
	assert.Zero(t, res.Count)

	evs := tw.End()
	require.Len(t, evs, 3)
	assert.Equal(t, mvccpb.Event_PUT, evs[0].Type)
	assert.Equal(t, int64(3), evs[0].Kv.ModRevision)
	assert.Equal(t, mvccpb.Event_DELETE, evs[2].Type)
	assert.Equal(t, "b", string(evs[2].Kv.Key))
	assert.Equal(t, int64(3), evs[2].Kv.ModRevision)
	assert.Equal(t, int64(3), s.Rev())
	assert.Equal(t, uint64(10), s.ConsistentIndex())
}

func TestDeleteRangeResults(t *testing.T) {
	tests := []struct {
		name          string
		putFirst      bool
		wantN, wantRv int64
	}{
		{"nothing to delete in an empty txn", false, 0, 2},
		{"nothing to delete after a put", true, 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestStore(t)
			put(s, "a", "1")
			tw := s.Write(5)
			if tt.putFirst {
				tw.Put([]byte("c"), []byte("1"), 0)
			}
			n, rev := tw.DeleteRange([]byte("x"), nil)
			tw.End()
			assert.Equal(t, tt.wantN, n)
			assert.Equal(t, tt.wantRv, rev)
		})
	}
}

func TestNoOpTxnRecordsIndexOnly(t *testing.T) {
	s, eng := newTestStore(t)
	tw := s.Write(7)
	res, err := tw.Range(context.Background(), []byte("a"), nil, RangeOptions{})
	require.NoError(t, err)
	assert.Zero(t, res.Count)
	assert.Empty(t, tw.End())
	assert.Equal(t, int64(1), s.Rev())
	assert.Equal(t, uint64(7), s.ConsistentIndex())
	assert.Equal(t, uint64(0), s.PersistedIndex())

	s.SetConsistentIndex(9)
	s.SetConsistentIndex(8) // never goes back
	assert.Equal(t, uint64(9), s.ConsistentIndex())
	require.NoError(t, s.Flush(context.Background()))
	assert.Equal(t, uint64(9), s.PersistedIndex())
	assert.Empty(t, eng.entries(nsKey))
	ci, err := eng.Open(context.Background(), storage.OpenRequest{})
	require.NoError(t, err)
	assert.Equal(t, uint64(9), ci.ConsistentIndex)
}

func TestFlushFailureKeepsData(t *testing.T) {
	eng := &countingEngine{Engine: newMemEngine()}
	s := openStore(t, eng, Config{FlushInterval: time.Hour, CacheBytes: -1})
	ctx := context.Background()
	boom := errors.New("disk on fire")
	eng.failApply.Store(&boom)

	put(s, "a", "1")
	require.ErrorIs(t, s.Flush(ctx), boom)
	require.ErrorIs(t, s.Err(), boom)
	put(s, "b", "2")
	require.ErrorIs(t, s.Flush(ctx), boom)
	assert.Equal(t, uint64(0), s.PersistedIndex())

	// Still readable while unflushed.
	res := rangeAll(t, s, 0)
	requireKVs(t, []*mvccpb.KeyValue{kv("a", "1", 2, 2, 1), kv("b", "2", 3, 3, 1)}, res.KVs)

	eng.failApply.Store(nil)
	require.NoError(t, s.Flush(ctx))
	require.NoError(t, s.Err())
	assert.Equal(t, uint64(2), s.PersistedIndex())
	assert.Len(t, eng.Engine.(*memEngine).entries(nsKey), 2)

	// Values now come from the engine (the cache is off).
	before := eng.getManys.Load()
	res = rangeAll(t, s, 0)
	requireKVs(t, []*mvccpb.KeyValue{kv("a", "1", 2, 2, 1), kv("b", "2", 3, 3, 1)}, res.KVs)
	assert.Equal(t, before+1, eng.getManys.Load(), "one GetMany per range")
}

// TestFlushFailuresAreLoggedSparingly checks that a flush that keeps
// failing is logged once, then once per retryLogEvery with the attempts
// counted, and its recovery once.
func TestFlushFailuresAreLoggedSparingly(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	eng := &countingEngine{Engine: newMemEngine()}
	resp, err := eng.Open(context.Background(), storage.OpenRequest{})
	require.NoError(t, err)
	s, err := New(zap.New(core), eng, resp.ConsistentIndex, Config{FlushInterval: time.Hour, CacheBytes: -1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	boom := errors.New("disk on fire")
	eng.failApply.Store(&boom)
	attempts := func(msg string) []int64 {
		var out []int64
		for _, e := range logs.FilterMessage(msg).All() {
			out = append(out, e.ContextMap()["failed-attempts"].(int64))
		}
		return out
	}
	const failed, recovered = "flushing the write buffer failed; will retry", "flushing the write buffer succeeded again"

	put(s, "a", "1")
	for range 5 {
		require.ErrorIs(t, s.Flush(ctx), boom)
	}
	assert.Equal(t, []int64{1}, attempts(failed))
	s.flushFailures.logged = s.flushFailures.logged.Add(-retryLogEvery)
	require.ErrorIs(t, s.Flush(ctx), boom)
	assert.Equal(t, []int64{1, 6}, attempts(failed))

	eng.failApply.Store(nil)
	require.NoError(t, s.Flush(ctx))
	require.NoError(t, s.Flush(ctx))
	assert.Equal(t, []int64{6}, attempts(recovered))

	eng.failApply.Store(&boom)
	put(s, "b", "2")
	require.ErrorIs(t, s.Flush(ctx), boom)
	assert.Equal(t, []int64{1, 6, 1}, attempts(failed), "a new run of failures is logged at once")
}

func TestFlushLoop(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"by interval", Config{FlushInterval: 5 * time.Millisecond}},
		{"by ops", Config{FlushInterval: time.Hour, FlushOps: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := newMemEngine()
			s := openStore(t, eng, tt.cfg)
			tw := s.Write(3)
			tw.Put([]byte("a"), []byte("1"), 0)
			tw.Put([]byte("b"), []byte("1"), 0)
			tw.End()
			require.Eventually(t, func() bool { return s.PersistedIndex() == 3 }, 5*time.Second, time.Millisecond)
			assert.Len(t, eng.entries(nsKey), 2)
		})
	}
}
