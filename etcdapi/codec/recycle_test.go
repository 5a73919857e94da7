package codec

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/proto"
)

// TestReleaseAfterMarshal: a registered reply's release runs once, after
// the codec has its bytes, which stay the reply's whatever release then
// does to the KVs; other replies, and replies registered past the bound,
// are marshalled without it.
func TestReleaseAfterMarshal(t *testing.T) {
	c := New(nil, nil)
	reply := func(n int) *pb.RangeResponse {
		r := &pb.RangeResponse{Header: &pb.ResponseHeader{Revision: 9}, Count: int64(n)}
		for i := range n {
			r.Kvs = append(r.Kvs, &mvccpb.KeyValue{Key: fmt.Appendf(nil, "k%04d", i), Value: make([]byte, 300), ModRevision: int64(i + 1)})
		}
		return r
	}

	r := reply(1000)
	want, err := proto.Marshal(r)
	require.NoError(t, err)
	released := 0
	ReleaseAfterMarshal(r, func() {
		released++
		for _, kv := range r.Kvs { // as a pool's next user would
			kv.Key, kv.Value, kv.ModRevision = []byte("reused"), nil, 0
		}
	})
	out, err := c.Marshal(r)
	require.NoError(t, err)
	require.Equal(t, 1, released)
	require.Equal(t, want, out.Materialize(), "the bytes are the reply's as it was")
	out.Free()
	_, err = c.Marshal(r)
	require.NoError(t, err)
	require.Equal(t, 1, released, "released once")

	other := reply(3)
	_, err = c.Marshal(other)
	require.NoError(t, err)

	// A reply never marshalled is forgotten after maxRecycling others,
	// each marshalled as a reply is, and nothing is held after it.
	forgotten := reply(1)
	ReleaseAfterMarshal(forgotten, func() { t.Error("a forgotten reply was released") })
	for range maxRecycling {
		r := reply(0)
		taken := false
		ReleaseAfterMarshal(r, func() { taken = true })
		_, err := c.Marshal(r)
		require.NoError(t, err)
		require.True(t, taken)
	}
	_, err = c.Marshal(forgotten)
	require.NoError(t, err)
	require.Zero(t, recycling.n.Load(), "nothing is held")
}
