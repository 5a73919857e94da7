package mvcc

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.uber.org/zap/zaptest"

	"github.com/metastore/metastore/pluginapi/storage"
)

// testConfig flushes only when asked, so tests see the buffer at work.
var testConfig = Config{FlushInterval: time.Hour, CacheBytes: 1 << 20, CompactionBatch: 3, CompactionSleep: time.Microsecond}

// openStore opens a Store over eng, as the host would after Open.
func openStore(t *testing.T, eng storage.Engine, cfg Config) *Store {
	t.Helper()
	resp, err := eng.Open(context.Background(), storage.OpenRequest{})
	require.NoError(t, err)
	s, err := New(zaptest.NewLogger(t), eng, resp.ConsistentIndex, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// newTestStore returns a store over a fresh memory engine.
func newTestStore(t *testing.T) (*Store, *memEngine) {
	t.Helper()
	eng := newMemEngine()
	return openStore(t, eng, testConfig), eng
}

// put writes one key in its own transaction and returns the revision.
func put(s *Store, key, value string) int64 {
	tw := s.Write(s.ConsistentIndex() + 1)
	defer tw.End()
	return tw.Put([]byte(key), []byte(value), 0)
}

// del deletes a range in its own transaction.
func del(s *Store, key, end string) int64 {
	tw := s.Write(s.ConsistentIndex() + 1)
	defer tw.End()
	var e []byte
	if end != "" {
		e = []byte(end)
	}
	n, _ := tw.DeleteRange([]byte(key), e)
	return n
}

// kv builds an expected KeyValue.
func kv(key, value string, create, mod, version int64) *mvccpb.KeyValue {
	return &mvccpb.KeyValue{Key: []byte(key), Value: []byte(value), CreateRevision: create, ModRevision: mod, Version: version}
}

// requireKVs compares KVs field by field.
func requireKVs(t *testing.T, want, got []*mvccpb.KeyValue) {
	t.Helper()
	require.Equal(t, len(want), len(got), "number of KVs: want %v got %v", want, got)
	for i := range want {
		w, g := want[i], got[i]
		require.Equal(t, string(w.Key), string(g.Key), "key %d", i)
		require.Equal(t, string(w.Value), string(g.Value), "value of %q", w.Key)
		require.Equal(t, w.CreateRevision, g.CreateRevision, "create revision of %q", w.Key)
		require.Equal(t, w.ModRevision, g.ModRevision, "mod revision of %q", w.Key)
		require.Equal(t, w.Version, g.Version, "version of %q", w.Key)
		require.Equal(t, w.Lease, g.Lease, "lease of %q", w.Key)
	}
}

// rangeAll reads every key at rev.
func rangeAll(t *testing.T, s *Store, rev int64) *RangeResult {
	t.Helper()
	res, err := s.Range(context.Background(), []byte{0}, []byte{0}, RangeOptions{Rev: rev})
	require.NoError(t, err)
	return res
}
