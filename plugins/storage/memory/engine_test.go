package memory_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/pluginapi/storage/storagetest"
	"github.com/metastore/metastore/plugins/storage/memory"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(*testing.T, string) storage.Engine { return memory.New() })
}

// TestConformanceOverGRPC runs the suite through the plugin protocol's
// client and server shims in one process.
func TestConformanceOverGRPC(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, _ string) storage.Engine { return storagetest.OverGRPC(t, memory.New()) })
}

// TestConformancePlugin runs the suite against the plugin binary, one
// process per engine.
func TestConformancePlugin(t *testing.T) {
	bin := storagetest.BuildPlugin(t, "github.com/metastore/metastore/cmd/metastore-storage-memory")
	storagetest.Run(t, storagetest.PluginFactory(bin))
}

func TestReopenIsEmpty(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := memory.New()
	_, err := e.Open(ctx, storage.OpenRequest{Dir: dir})
	require.NoError(t, err)
	_, err = e.ApplyBatch(ctx, storage.ApplyBatchRequest{
		Ops:             []storage.Op{{Kind: storage.OpPut, Namespace: "ns", Key: []byte("k"), Value: []byte("v")}},
		ConsistentIndex: 3,
	})
	require.NoError(t, err)
	require.NoError(t, e.Close(ctx))

	e = memory.New()
	resp, err := e.Open(ctx, storage.OpenRequest{Dir: dir})
	require.NoError(t, err)
	require.Zero(t, resp.ConsistentIndex)
	got, err := e.GetMany(ctx, storage.GetManyRequest{Namespace: "ns", Keys: [][]byte{[]byte("k")}})
	require.NoError(t, err)
	require.False(t, got.Found[0])
}

func TestOpenRejectsOptions(t *testing.T) {
	_, err := memory.New().Open(context.Background(), storage.OpenRequest{Options: map[string]string{"x": "1"}})
	require.ErrorIs(t, err, storage.ErrInvalidRequest)
}
