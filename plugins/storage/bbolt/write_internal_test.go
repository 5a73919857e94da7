package bbolt

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/metastore/metastore/pluginapi/storage"
)

// TestAppendedPagesArePackedFull checks that pages filled by keys that
// only grow, as MetaStore's revisions do, end up at least 80% used, while
// keys put in any other order keep bbolt's default fill; and that both
// read back whole.
func TestAppendedPagesArePackedFull(t *testing.T) {
	const keys, perBatch = 20_000, 100
	for _, c := range []struct {
		name    string
		key     func(i int) uint64
		packed  bool
		minFill float64
		maxFill float64
	}{
		{"growing keys", func(i int) uint64 { return uint64(i) }, true, 0.8, 1},
		{"shrinking keys", func(i int) uint64 { return uint64(keys - i) }, false, 0, 0.7},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			e := New()
			_, err := e.Open(ctx, storage.OpenRequest{Dir: t.TempDir()})
			require.NoError(t, err)
			t.Cleanup(func() { _ = e.Close(ctx) })
			value := make([]byte, 256)
			for b := 0; b < keys/perBatch; b++ {
				ops := make([]storage.Op, perBatch)
				for j := range ops {
					ops[j] = storage.Op{Kind: storage.OpPut, Namespace: "key",
						Key: binary.BigEndian.AppendUint64(nil, c.key(b*perBatch+j)), Value: value}
				}
				_, err := e.ApplyBatch(ctx, storage.ApplyBatchRequest{Ops: ops, ConsistentIndex: uint64(b + 1)})
				require.NoError(t, err)
			}
			var st bolt.BucketStats
			require.NoError(t, e.db.View(func(tx *bolt.Tx) error {
				st = tx.Bucket(nsBucket("key")).Stats()
				return nil
			}))
			require.Equal(t, keys, st.KeyN)
			fill := float64(st.LeafInuse) / float64(st.LeafAlloc)
			t.Logf("%d leaf pages, %.2f used", st.LeafPageN, fill)
			require.GreaterOrEqual(t, fill, c.minFill)
			require.LessOrEqual(t, fill, c.maxFill)
		})
	}
}
