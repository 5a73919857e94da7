package storagetest

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/storage"
)

func testInfo(t *testing.T, h harness) {
	e, _ := h.newEngine(t)
	before := info(t, e)
	require.NotEmpty(t, before.Name, "Name")
	require.NotEmpty(t, before.Version, "Version")
	_, isDefragmenter := e.(storage.Defragmenter)
	require.Equal(t, hasCapability(t, e, storage.CapabilityDefrag), isDefragmenter,
		"the defrag capability and the Defragmenter interface must go together")
	opened, dir := h.open(t)
	if hasCapability(t, opened, storage.CapabilityDurable) {
		_, err := os.Stat(dir)
		require.NoError(t, err, "Open must create its directory")
	}
}

// callAll calls every method but Info and Open and returns their errors by
// method name.
func callAll(e storage.Engine) map[string]error {
	ctx := context.Background()
	errs := map[string]error{}
	_, errs["ApplyBatch"] = e.ApplyBatch(ctx, storage.ApplyBatchRequest{Ops: []storage.Op{put("ns", "k", "v")}})
	_, errs["GetMany"] = e.GetMany(ctx, storage.GetManyRequest{Namespace: "ns", Keys: [][]byte{[]byte("k")}})
	errs["Scan"] = e.Scan(ctx, storage.ScanRequest{Namespace: "ns"}, func(storage.KeyValue) bool { return true })
	_, errs["Snapshot"] = e.Snapshot(ctx, storage.SnapshotRequest{Writer: &bytes.Buffer{}})
	var empty bytes.Buffer
	sw := storage.NewSnapshotWriter(&empty, 1)
	_ = sw.Close()
	_, errs["Restore"] = e.Restore(ctx, storage.RestoreRequest{Reader: &empty})
	_, errs["Stats"] = e.Stats(ctx, storage.StatsRequest{})
	if d, ok := e.(storage.Defragmenter); ok {
		_, errs["Defrag"] = d.Defrag(ctx, storage.DefragRequest{})
	}
	return errs
}

func testLifecycle(t *testing.T, h harness) {
	e, dir := h.newEngine(t)
	for method, err := range callAll(e) {
		require.ErrorIs(t, err, storage.ErrNotOpen, "%s before Open", method)
	}
	openEngine(t, e, dir)
	apply(t, e, put("ns", "k", "v"))
	require.NoError(t, e.Close(context.Background()))
	require.NoError(t, e.Close(context.Background()), "a second Close")
	for method, err := range callAll(e) {
		require.ErrorIs(t, err, storage.ErrClosed, "%s after Close", method)
	}
	_, err := e.Info(context.Background())
	require.NoError(t, err, "Info after Close")
}

func testInvalidRequests(t *testing.T, h harness) {
	e, _ := h.open(t)
	ctx := context.Background()
	apply(t, e, put("ns", "keep", "1"))
	batches := map[string][]storage.Op{
		"empty namespace": {put("ns", "a", "1"), put("", "b", "2")},
		"unknown op kind": {put("ns", "a", "1"), {Kind: 99, Namespace: "ns", Key: []byte("b")}},
		"zero op kind":    {put("ns", "a", "1"), {Namespace: "ns", Key: []byte("b")}},
		"empty key":       {put("ns", "a", "1"), put("ns", "", "2")},
	}
	for name, ops := range batches {
		_, err := e.ApplyBatch(ctx, storage.ApplyBatchRequest{Ops: append(ops, del("ns", "keep")), ConsistentIndex: 9})
		require.ErrorIs(t, err, storage.ErrInvalidRequest, name)
		requireMissing(t, e, "ns", "a")
		requireValue(t, e, "ns", "keep", "1")
	}
	_, err := e.GetMany(ctx, storage.GetManyRequest{Keys: [][]byte{[]byte("k")}})
	require.ErrorIs(t, err, storage.ErrInvalidRequest, "GetMany with no namespace")
	err = e.Scan(ctx, storage.ScanRequest{}, func(storage.KeyValue) bool { return true })
	require.ErrorIs(t, err, storage.ErrInvalidRequest, "Scan with no namespace")
	snap, err := e.Snapshot(ctx, storage.SnapshotRequest{Writer: &bytes.Buffer{}})
	require.NoError(t, err)
	require.Zero(t, snap.ConsistentIndex, "a rejected batch must not store its index")
}
