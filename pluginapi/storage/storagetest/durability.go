package storagetest

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/storage"
)

// snapshotIndex reads the consistent index the engine holds now, through
// Snapshot, which every engine supports.
func snapshotIndex(t *testing.T, e storage.Engine) uint64 {
	resp, err := e.Snapshot(context.Background(), storage.SnapshotRequest{Writer: &bytes.Buffer{}})
	require.NoError(t, err, "Snapshot")
	return resp.ConsistentIndex
}

func testConsistentIndex(t *testing.T, h harness) {
	e, dir := h.newEngine(t)
	require.Zero(t, openEngine(t, e, dir), "a new engine's consistent index")
	require.Zero(t, snapshotIndex(t, e))

	applyIndex(t, e, 5, put("ns", "a", "1"))
	require.Equal(t, uint64(5), snapshotIndex(t, e))
	applyIndex(t, e, 0, put("ns", "b", "2"))
	require.Equal(t, uint64(5), snapshotIndex(t, e), "index 0 leaves the index alone")
	applyIndex(t, e, 7)
	require.Equal(t, uint64(7), snapshotIndex(t, e), "a batch of no ops still stores its index")

	if !hasCapability(t, e, storage.CapabilityDurable) {
		return
	}
	require.NoError(t, e.Close(context.Background()))
	e, index := h.reopen(t, dir)
	require.Equal(t, uint64(7), index, "Open after reopen")
	requireValue(t, e, "ns", "a", "1")
	requireValue(t, e, "ns", "b", "2")

	applyIndex(t, e, 1<<60, put("ns", "c", "3"), del("ns", "a"))
	require.NoError(t, e.Close(context.Background()))
	e, index = h.reopen(t, dir)
	require.Equal(t, uint64(1<<60), index)
	requireMissing(t, e, "ns", "a")
	requireValue(t, e, "ns", "c", "3")
}
