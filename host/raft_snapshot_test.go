package host

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/plugins/storage/bbolt"
)

// TestDamagedRaftSnapshotFileIsRefused: a received raft snapshot file
// damaged at rest (a flipped bit, a cut) is refused with an error naming
// it, when it is checked and when the engine is restored from it at
// start; the engine keeps what it had.
func TestDamagedRaftSnapshotFileIsRefused(t *testing.T) {
	ctx := context.Background()
	src := bbolt.New()
	_, err := src.Open(ctx, storage.OpenRequest{Dir: t.TempDir()})
	require.NoError(t, err)
	defer func() { require.NoError(t, src.Close(ctx)) }()
	_, err = src.ApplyBatch(ctx, storage.ApplyBatchRequest{ConsistentIndex: 9, Ops: []storage.Op{
		{Kind: storage.OpPut, Namespace: "key", Key: []byte("k"), Value: bytes.Repeat([]byte("v"), 4096)},
	}})
	require.NoError(t, err)
	var whole bytes.Buffer
	_, err = src.Snapshot(ctx, storage.SnapshotRequest{Writer: &whole})
	require.NoError(t, err)

	for _, tt := range []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"flipped bit in a value", func(b []byte) []byte { b[len(b)/2] ^= 0x01; return b }},
		{"flipped bit in the checksum", func(b []byte) []byte { b[len(b)-1] ^= 0x01; return b }},
		{"cut in the middle", func(b []byte) []byte { return b[:len(b)/2] }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "0000000000000009"+snapshotSuffix)
			require.NoError(t, os.WriteFile(path, tt.damage(bytes.Clone(whole.Bytes())), 0o600))

			_, err := checkSnapshotFile(path)
			require.ErrorIs(t, err, storage.ErrCorrupt)
			require.ErrorContains(t, err, "the received snapshot "+path+" is damaged: ")

			dst := bbolt.New()
			_, err = dst.Open(ctx, storage.OpenRequest{Dir: t.TempDir()})
			require.NoError(t, err)
			defer func() { require.NoError(t, dst.Close(ctx)) }()
			_, err = dst.ApplyBatch(ctx, storage.ApplyBatchRequest{ConsistentIndex: 3, Ops: []storage.Op{
				{Kind: storage.OpPut, Namespace: "key", Key: []byte("before"), Value: []byte("kept")},
			}})
			require.NoError(t, err)
			_, err = restoreEngineFile(ctx, dst, path)
			require.ErrorIs(t, err, storage.ErrCorrupt)
			require.ErrorContains(t, err, "restoring the engine from "+path+": ")
			resp, err := dst.GetMany(ctx, storage.GetManyRequest{Namespace: "key", Keys: [][]byte{[]byte("before"), []byte("k")}})
			require.NoError(t, err)
			require.Equal(t, []bool{true, false}, resp.Found, "the engine keeps what it had")
		})
	}
}
