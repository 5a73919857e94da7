package bbolt

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/storage"
)

func putOp(ns, key, value string) storage.Op {
	return storage.Op{Kind: storage.OpPut, Namespace: ns, Key: []byte(key), Value: []byte(value)}
}

// TestDefragReplaysJournal drives Defrag's steps by hand so that batches
// certainly land between the copy's view and the swap.
func TestDefragReplaysJournal(t *testing.T) {
	ctx := context.Background()
	e := New()
	_, err := e.Open(ctx, storage.OpenRequest{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close(ctx) })
	apply := func(index uint64, ops ...storage.Op) {
		_, err := e.ApplyBatch(ctx, storage.ApplyBatchRequest{Ops: ops, ConsistentIndex: index})
		require.NoError(t, err)
	}
	apply(1, putOp("ns", "before", "1"), putOp("ns", "changed", "old"))

	src, _, err := e.beginCopy()
	require.NoError(t, err)
	apply(2, putOp("ns", "during-copy", "2"), putOp("ns", "changed", "new"))
	db, path, err := e.openRebuild(defragFileName)
	require.NoError(t, err)
	require.NoError(t, copyTx(ctx, src, db))
	require.NoError(t, src.Rollback())
	for i := range smallJournal + 1 { // a long journal takes a second round
		apply(uint64(3+i), putOp("other", fmt.Sprintf("k%03d", i), "3"))
	}
	require.NoError(t, e.catchUp(db))
	apply(100, storage.Op{Kind: storage.OpDelete, Namespace: "ns", Key: []byte("before")})
	require.NoError(t, e.finishDefrag(db, path))
	require.Nil(t, e.journal, "journal stopped")

	got, err := e.GetMany(ctx, storage.GetManyRequest{Namespace: "ns",
		Keys: [][]byte{[]byte("before"), []byte("during-copy"), []byte("changed")}})
	require.NoError(t, err)
	require.Equal(t, []bool{false, true, true}, got.Found)
	require.Equal(t, "new", string(got.Values[2]))
	stats, err := e.Stats(ctx, storage.StatsRequest{CountKeys: true})
	require.NoError(t, err)
	require.Equal(t, int64(smallJournal+1), stats.Keys["other"])

	require.NoError(t, e.Close(ctx))
	reopened := New()
	resp, err := reopened.Open(ctx, storage.OpenRequest{Dir: e.dir})
	require.NoError(t, err)
	require.Equal(t, uint64(100), resp.ConsistentIndex)
	require.NoError(t, reopened.Close(ctx))
}

func TestRestoreFailureKeepsContent(t *testing.T) {
	ctx := context.Background()
	e := New()
	_, err := e.Open(ctx, storage.OpenRequest{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close(ctx) })
	_, err = e.ApplyBatch(ctx, storage.ApplyBatchRequest{Ops: []storage.Op{putOp("ns", "k", "v")}, ConsistentIndex: 5})
	require.NoError(t, err)

	_, err = e.Restore(ctx, storage.RestoreRequest{Reader: strings.NewReader("MSSNAP\x00\x01 truncated")})
	require.ErrorIs(t, err, storage.ErrCorrupt)
	got, err := e.GetMany(ctx, storage.GetManyRequest{Namespace: "ns", Keys: [][]byte{[]byte("k")}})
	require.NoError(t, err)
	require.True(t, got.Found[0], "a failed Restore keeps the old content")
}
