package quotausage

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/metastore/metastore/mvcc"
	"github.com/metastore/metastore/pluginapi/quota"
	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/plugins/storage/memory"
)

func newQuotaTestStore(t *testing.T) *mvcc.Store {
	t.Helper()
	eng := memory.New()
	_, err := eng.Open(context.Background(), storage.OpenRequest{Dir: t.TempDir()})
	require.NoError(t, err)
	st, err := mvcc.New(zaptest.NewLogger(t), eng, 0, mvcc.Config{FlushInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// usageOf returns the usage of the one prefix a put of key touches.
func usageOf(t *testing.T, u *Usage, st *mvcc.Store, branches ...[]quota.Put) []quota.PrefixUsage {
	t.Helper()
	return u.Usage(context.Background(), st.Rev(), branches)
}

func TestPrefixUsage(t *testing.T) {
	st := newQuotaTestStore(t)
	index := uint64(0)
	write := func(f func(tw *mvcc.TxnWrite)) {
		index++
		tw := st.Write(index)
		f(tw)
		tw.End()
	}
	write(func(tw *mvcc.TxnWrite) {
		tw.Put([]byte("/a/1"), []byte("xx"), 0)  // 6 bytes
		tw.Put([]byte("/a/b/1"), []byte("y"), 0) // 7 bytes, under /a/ and /a/b/
		tw.Put([]byte("/c/1"), []byte("zzz"), 0)
	})
	u := New(zaptest.NewLogger(t), st)
	defer u.Close()
	require.NoError(t, u.Track([][]byte{[]byte("/a/"), []byte("/a/b/"), []byte("/d/")}))
	require.True(t, u.Covers([]byte("/a/x")))
	require.False(t, u.Covers([]byte("/c/1")))

	put := func(key string, size int) quota.Put { return quota.Put{Key: []byte(key), ValueSize: size} }
	tests := []struct {
		name     string
		branches [][]quota.Put
		want     []quota.PrefixUsage
	}{
		{"new key", [][]quota.Put{{put("/a/2", 4)}},
			[]quota.PrefixUsage{{Prefix: []byte("/a/"), Keys: 2, Bytes: 13, AddKeys: 1, AddBytes: 8}}},
		{"overwrite counts the size change", [][]quota.Put{{put("/a/1", 10)}},
			[]quota.PrefixUsage{{Prefix: []byte("/a/"), Keys: 2, Bytes: 13, AddKeys: 0, AddBytes: 8}}},
		{"smaller overwrite", [][]quota.Put{{put("/a/1", 0)}},
			[]quota.PrefixUsage{{Prefix: []byte("/a/"), Keys: 2, Bytes: 13, AddKeys: 0, AddBytes: -2}}},
		{"nested prefixes", [][]quota.Put{{put("/a/b/2", 1)}}, []quota.PrefixUsage{
			{Prefix: []byte("/a/"), Keys: 2, Bytes: 13, AddKeys: 1, AddBytes: 7},
			{Prefix: []byte("/a/b/"), Keys: 1, Bytes: 7, AddKeys: 1, AddBytes: 7}}},
		{"a key put twice counts once", [][]quota.Put{{put("/a/2", 4), put("/a/2", 1)}},
			[]quota.PrefixUsage{{Prefix: []byte("/a/"), Keys: 2, Bytes: 13, AddKeys: 1, AddBytes: 5}}},
		{"larger branch of a txn", [][]quota.Put{{put("/a/2", 1), put("/a/3", 1)}, {put("/a/4", 100)}},
			[]quota.PrefixUsage{{Prefix: []byte("/a/"), Keys: 2, Bytes: 13, AddKeys: 2, AddBytes: 104}}},
		{"no declared prefix", [][]quota.Put{{put("/c/2", 1)}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, usageOf(t, u, st, tt.branches...))
		})
	}

	// Applied writes move the usage: an overwrite, a delete, a new key.
	write(func(tw *mvcc.TxnWrite) { tw.Put([]byte("/a/1"), []byte("xxxxxx"), 0) }) // +4
	write(func(tw *mvcc.TxnWrite) { tw.DeleteRange([]byte("/a/b/1"), nil) })       // -7, -1 key
	write(func(tw *mvcc.TxnWrite) { tw.Put([]byte("/d/1"), []byte("v"), 0) })
	got := usageOf(t, u, st, []quota.Put{put("/a/9", 0), put("/d/9", 0)})
	require.Equal(t, []quota.PrefixUsage{
		{Prefix: []byte("/a/"), Keys: 1, Bytes: 10, AddKeys: 1, AddBytes: 4},
		{Prefix: []byte("/d/"), Keys: 1, Bytes: 5, AddKeys: 1, AddBytes: 4},
	}, got)

	// Counting again from the store gives the same.
	require.NoError(t, u.Track([][]byte{[]byte("/d/"), []byte("/a/")}))
	got = usageOf(t, u, st, []quota.Put{put("/a/9", 0), put("/d/9", 0)})
	require.Equal(t, []quota.PrefixUsage{
		{Prefix: []byte("/d/"), Keys: 1, Bytes: 5, AddKeys: 1, AddBytes: 4},
		{Prefix: []byte("/a/"), Keys: 1, Bytes: 10, AddKeys: 1, AddBytes: 4},
	}, got)
	// Counts has every prefix, touched or not, in the order tracked.
	require.NoError(t, u.Track([][]byte{[]byte("/d/"), []byte("/a/"), []byte("/e/")}))
	require.Equal(t, []quota.PrefixUsage{
		{Prefix: []byte("/d/"), Keys: 1, Bytes: 5},
		{Prefix: []byte("/a/"), Keys: 1, Bytes: 10},
		{Prefix: []byte("/e/")},
	}, u.Counts())

	require.NoError(t, u.Track(nil))
	require.False(t, u.Covers([]byte("/a/1")))
	require.Nil(t, usageOf(t, u, st, []quota.Put{put("/a/9", 0)}))
	require.Nil(t, u.Counts())
}

func TestPrefixRangeEnd(t *testing.T) {
	require.Equal(t, []byte("/b"), prefixRangeEnd([]byte("/a")))
	require.Equal(t, []byte("/b"), prefixRangeEnd([]byte("/a\xff")))
	require.Equal(t, []byte{0}, prefixRangeEnd([]byte("\xff\xff")))
	require.Equal(t, [][]byte{[]byte("/a/"), []byte("/b")},
		coveringPrefixes([][]byte{[]byte("/b"), []byte("/a/x/"), []byte("/a/"), []byte("/bc")}))
}
