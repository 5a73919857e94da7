package storagetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/storage"
)

func testPutGetDelete(t *testing.T, h harness) {
	e, _ := h.open(t)
	requireMissing(t, e, "ns", "k")
	apply(t, e, put("ns", "k", "v1"))
	requireValue(t, e, "ns", "k", "v1")
	apply(t, e, put("ns", "k", "v2"))
	requireValue(t, e, "ns", "k", "v2")
	apply(t, e, put("ns", "empty", ""))
	requireValue(t, e, "ns", "empty", "")
	apply(t, e, del("ns", "k"))
	requireMissing(t, e, "ns", "k")
	apply(t, e, del("ns", "k"), del("never", "written"))
	requireMissing(t, e, "ns", "k")

	// The engine must not keep the caller's slices.
	key, value := []byte("owned"), []byte("before")
	apply(t, e, storage.Op{Kind: storage.OpPut, Namespace: "ns", Key: key, Value: value})
	copy(key, "XXXXX")
	copy(value, "XXXXXX")
	requireValue(t, e, "ns", "owned", "before")

	// Nor hand out its own: a caller may write into a returned value.
	resp, err := e.GetMany(context.Background(), storage.GetManyRequest{Namespace: "ns", Keys: [][]byte{[]byte("owned")}})
	require.NoError(t, err)
	copy(resp.Values[0], "XXXXXX")
	requireValue(t, e, "ns", "owned", "before")
}

func testGetMany(t *testing.T, h harness) {
	e, _ := h.open(t)
	apply(t, e, put("ns", "a", "1"), put("ns", "c", "3"), put("ns", "e", ""))
	keys := [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("a"), []byte("zz"), []byte("e")}
	resp, err := e.GetMany(context.Background(), storage.GetManyRequest{Namespace: "ns", Keys: keys})
	require.NoError(t, err)
	require.Equal(t, []bool{true, false, true, true, false, true}, resp.Found)
	require.Len(t, resp.Values, len(keys))
	for i, want := range []string{"1", "", "3", "1", "", ""} {
		require.Equal(t, want, string(resp.Values[i]), "value %d", i)
	}
	require.Nil(t, resp.Values[1], "a missing key answers nil")
	require.Nil(t, resp.Values[4], "a missing key answers nil")

	resp, err = e.GetMany(context.Background(), storage.GetManyRequest{Namespace: "unknown", Keys: keys[:2]})
	require.NoError(t, err, "a namespace never written reads as empty")
	require.Equal(t, []bool{false, false}, resp.Found)

	resp, err = e.GetMany(context.Background(), storage.GetManyRequest{Namespace: "ns"})
	require.NoError(t, err, "no keys")
	require.Empty(t, resp.Found)
}

func testNamespaces(t *testing.T, h harness) {
	e, _ := h.open(t)
	apply(t, e, put("a", "k", "in a"), put("b", "k", "in b"), put("a/b", "k", "in a/b"), put("b", "only-b", "x"))
	requireValue(t, e, "a", "k", "in a")
	requireValue(t, e, "b", "k", "in b")
	requireValue(t, e, "a/b", "k", "in a/b")
	requireMissing(t, e, "a", "only-b")
	require.Equal(t, []kv{{"k", "in a"}}, dump(t, e, "a"))
	apply(t, e, del("a", "k"))
	requireMissing(t, e, "a", "k")
	requireValue(t, e, "b", "k", "in b")
	require.Empty(t, dump(t, e, "a"))
	require.Empty(t, dump(t, e, "never"))
}

func testBatchOrdering(t *testing.T, h harness) {
	e, _ := h.open(t)
	apply(t, e, put("ns", "gone", "old"))
	apply(t, e,
		put("ns", "k", "1"), put("ns", "k", "2"), // last put wins
		put("ns", "pd", "x"), del("ns", "pd"), // put then delete: absent
		del("ns", "gone"), put("ns", "gone", "new"), // delete then put: present
		put("other", "k", "o"),
	)
	requireValue(t, e, "ns", "k", "2")
	requireMissing(t, e, "ns", "pd")
	requireValue(t, e, "ns", "gone", "new")
	requireValue(t, e, "other", "k", "o")
	apply(t, e) // an empty batch is fine
}

func testBatchAtomicity(t *testing.T, h harness) {
	e, _ := h.open(t)
	apply(t, e, put("ns", "keep", "1"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.ApplyBatch(ctx, storage.ApplyBatchRequest{Ops: []storage.Op{put("ns", "x", "1"), del("ns", "keep")}})
	if err != nil { // an engine may ignore ctx, but then must apply all
		requireMissing(t, e, "ns", "x")
		requireValue(t, e, "ns", "keep", "1")
	} else {
		requireValue(t, e, "ns", "x", "1")
		requireMissing(t, e, "ns", "keep")
	}
}
