package rocksdb_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/pluginapi/storage/storagetest"
	"github.com/metastore/metastore/plugins/storage/rocksdb"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(*testing.T, string) storage.Engine { return rocksdb.New() })
}

// TestConformanceOverGRPC runs the suite through the plugin protocol's
// client and server shims in one process.
func TestConformanceOverGRPC(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, _ string) storage.Engine { return storagetest.OverGRPC(t, rocksdb.New()) })
}

// TestConformancePlugin runs the suite against the plugin binary, one
// process per engine: the way the host runs this engine.
func TestConformancePlugin(t *testing.T) {
	bin := storagetest.BuildPlugin(t, "github.com/metastore/metastore/cmd/metastore-storage-rocksdb", "CGO_ENABLED=1")
	storagetest.Run(t, storagetest.PluginFactory(bin))
}

func TestOpenOptions(t *testing.T) {
	tests := map[string]struct {
		options map[string]string
		wantErr error
	}{
		"none":              {},
		"write buffer size": {options: map[string]string{rocksdb.OptionWriteBufferSize: "1048576"}},
		"bad size":          {options: map[string]string{rocksdb.OptionWriteBufferSize: "lots"}, wantErr: storage.ErrInvalidRequest},
		"unknown option":    {options: map[string]string{"no-such-option": "1"}, wantErr: storage.ErrInvalidRequest},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := rocksdb.New()
			_, err := e.Open(context.Background(), storage.OpenRequest{Dir: t.TempDir(), Options: tc.options})
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.NoError(t, e.Close(context.Background()))
		})
	}
}

// TestRestoreSwapCompletesAtOpen: a crash between Restore's two renames
// leaves only db.restore; Open finishes the swap.
func TestRestoreSwapCompletesAtOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := rocksdb.New()
	_, err := e.Open(ctx, storage.OpenRequest{Dir: dir})
	require.NoError(t, err)
	_, err = e.ApplyBatch(ctx, storage.ApplyBatchRequest{ConsistentIndex: 9, Ops: []storage.Op{{Kind: storage.OpPut, Namespace: "ns", Key: []byte("k"), Value: []byte("v")}}})
	require.NoError(t, err)
	require.NoError(t, e.Close(ctx))
	require.NoError(t, os.Rename(filepath.Join(dir, "db"), filepath.Join(dir, "db.restore")))

	e = rocksdb.New()
	opened, err := e.Open(ctx, storage.OpenRequest{Dir: dir})
	require.NoError(t, err)
	defer e.Close(ctx)
	require.Equal(t, uint64(9), opened.ConsistentIndex)
	got, err := e.GetMany(ctx, storage.GetManyRequest{Namespace: "ns", Keys: [][]byte{[]byte("k")}})
	require.NoError(t, err)
	require.Equal(t, []byte("v"), got.Values[0])
}
