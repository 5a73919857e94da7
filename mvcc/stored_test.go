package mvcc

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/proto"
)

// TestStoredAsProtobuf: a stored KeyValue is the bytes proto.Marshal
// writes, which etcd stores and HashKV hashes, and storedSize their size.
func TestStoredAsProtobuf(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	num := func() int64 {
		return []int64{0, 1, int64(r.IntN(1000)), r.Int64(), -1}[r.IntN(5)]
	}
	bytes := func() []byte {
		if r.IntN(4) == 0 {
			return nil
		}
		b := make([]byte, r.IntN(300))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	for range 3000 {
		kv := &mvccpb.KeyValue{Key: bytes(), CreateRevision: num(), ModRevision: num(), Version: num(), Value: bytes(), Lease: num()}
		want, err := proto.Marshal(kv)
		require.NoError(t, err)
		got := appendStored([]byte("x"), kv)
		require.Equal(t, want, got[1:], "%v", kv)
		require.Equal(t, len(want), storedSize(kv))
	}
}
