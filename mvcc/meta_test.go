package mvcc

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// scanMeta reads a whole meta namespace.
func scanMeta(t *testing.T, s *Store, ns string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, s.ScanMeta(context.Background(), ns, func(k, v []byte) bool {
		out[string(k)] = string(v)
		return true
	}))
	return out
}

func TestMetaWritesShareTheKeyBatch(t *testing.T) {
	eng := newMemEngine()
	s := openStore(t, eng, testConfig)

	tw := s.Write(7)
	tw.PutMeta("lease", []byte("a"), []byte("1"))
	tw.Put([]byte("k"), []byte("v"), 5)
	tw.PutMeta("lease", []byte("b"), []byte("2"))
	tw.End()
	require.Equal(t, int64(2), s.Rev())
	require.Empty(t, eng.entries("lease"), "meta writes wait in the buffer like key writes")

	// A transaction of meta writes alone records its index but keeps the
	// revision.
	tw = s.Write(8)
	tw.DeleteMeta("lease", []byte("a"))
	tw.End()
	require.Equal(t, int64(2), s.Rev())
	require.Equal(t, uint64(8), s.ConsistentIndex())

	require.Equal(t, map[string]string{"b": "2"}, scanMeta(t, s, "lease"), "ScanMeta flushes first")
	require.Equal(t, uint64(8), s.PersistedIndex())
	require.NoError(t, s.Close())

	s2 := openStore(t, eng, testConfig)
	require.Equal(t, map[string]string{"b": "2"}, scanMeta(t, s2, "lease"))
	require.Empty(t, scanMeta(t, s2, "other"))
	requireKVs(t, []*mvccpb.KeyValue{{Key: []byte("k"), Value: []byte("v"), CreateRevision: 2, ModRevision: 2, Version: 1, Lease: 5}}, rangeAll(t, s2, 0).KVs)
}

func TestMetaRejectsStoreNamespaces(t *testing.T) {
	s, _ := newTestStore(t)
	for _, ns := range []string{"", nsKey, nsMeta} {
		tw := s.Write(1)
		require.Panics(t, func() { tw.PutMeta(ns, []byte("x"), nil) }, "namespace %q", ns)
		tw.End()
	}
	tw := s.Write(2)
	require.Panics(t, func() { tw.DeleteMeta("lease", nil) }, "empty key")
	tw.End()
}
