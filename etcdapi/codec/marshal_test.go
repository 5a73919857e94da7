package codec

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// gen makes random messages: every field zero or set, integers of every
// width and sign, nil, empty and long byte strings.
type gen struct{ r *rand.Rand }

func (g gen) int64() int64 {
	switch g.r.IntN(6) {
	case 0:
		return 0
	case 1:
		return -g.r.Int64N(1 << 40)
	case 2:
		return math.MaxInt64
	case 3:
		return math.MinInt64
	default:
		return g.r.Int64N(1 << uint(g.r.IntN(62)+1))
	}
}

func (g gen) bytes() []byte {
	switch g.r.IntN(4) {
	case 0:
		return nil
	case 1:
		return []byte{}
	case 2:
		b := make([]byte, 128+g.r.IntN(300)) // a length of two varint bytes
		for i := range b {
			b[i] = byte(g.r.Uint32())
		}
		return b
	default:
		return []byte{byte(g.r.Uint32()), 0, 'k'}
	}
}

func (g gen) header() *pb.ResponseHeader {
	if g.r.IntN(5) == 0 {
		return nil
	}
	return &pb.ResponseHeader{ClusterId: uint64(g.int64()), MemberId: uint64(g.int64()), Revision: g.int64(), RaftTerm: uint64(g.int64())}
}

func (g gen) kv() *mvccpb.KeyValue {
	return &mvccpb.KeyValue{Key: g.bytes(), CreateRevision: g.int64(), ModRevision: g.int64(), Version: g.int64(),
		Value: g.bytes(), Lease: g.int64()}
}

func (g gen) optKV() *mvccpb.KeyValue {
	if g.r.IntN(2) == 0 {
		return nil
	}
	return g.kv()
}

func (g gen) kvs() []*mvccpb.KeyValue {
	var out []*mvccpb.KeyValue
	for range g.r.IntN(8) {
		out = append(out, g.kv())
	}
	return out
}

func (g gen) rangeResp() *pb.RangeResponse {
	return &pb.RangeResponse{Header: g.header(), Kvs: g.kvs(), More: g.r.IntN(2) == 0, Count: g.int64()}
}

func (g gen) putResp() *pb.PutResponse {
	return &pb.PutResponse{Header: g.header(), PrevKv: g.optKV()}
}

func (g gen) deleteResp() *pb.DeleteRangeResponse {
	return &pb.DeleteRangeResponse{Header: g.header(), Deleted: g.int64(), PrevKvs: g.kvs()}
}

func (g gen) txnResp(depth int) *pb.TxnResponse {
	t := &pb.TxnResponse{Header: g.header(), Succeeded: g.r.IntN(2) == 0}
	for range g.r.IntN(5) {
		op := &pb.ResponseOp{}
		switch g.r.IntN(5) {
		case 0:
			op.Response = &pb.ResponseOp_ResponseRange{ResponseRange: g.rangeResp()}
		case 1:
			op.Response = &pb.ResponseOp_ResponsePut{ResponsePut: g.putResp()}
		case 2:
			op.Response = &pb.ResponseOp_ResponseDeleteRange{ResponseDeleteRange: g.deleteResp()}
		case 3:
			if depth < 2 {
				op.Response = &pb.ResponseOp_ResponseTxn{ResponseTxn: g.txnResp(depth + 1)}
			}
		}
		t.Responses = append(t.Responses, op)
	}
	return t
}

func (g gen) watchResp() *pb.WatchResponse {
	w := &pb.WatchResponse{Header: g.header(), WatchId: g.int64(), Created: g.r.IntN(2) == 0, Canceled: g.r.IntN(2) == 0,
		CompactRevision: g.int64(), Fragment: g.r.IntN(2) == 0}
	if g.r.IntN(3) == 0 {
		w.CancelReason = "etcdserver: mvcc: required revision has been compacted"
	}
	for range g.r.IntN(6) {
		w.Events = append(w.Events, &mvccpb.Event{Type: mvccpb.Event_EventType(g.r.IntN(2)), Kv: g.optKV(), PrevKv: g.optKV()})
	}
	return w
}

func (g gen) keepAlive() *pb.LeaseKeepAliveResponse {
	return &pb.LeaseKeepAliveResponse{Header: g.header(), ID: g.int64(), TTL: g.int64()}
}

func (g gen) message() proto.Message {
	switch g.r.IntN(6) {
	case 0:
		return g.rangeResp()
	case 1:
		return g.putResp()
	case 2:
		return g.deleteResp()
	case 3:
		return g.txnResp(0)
	case 4:
		return g.watchResp()
	}
	return g.keepAlive()
}

// marshal returns what the codec sends for m.
func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	data, err := New(nil, nil).Marshal(m)
	require.NoError(t, err)
	defer data.Free()
	return data.Materialize()
}

// TestSameBytesAsProtobuf: the codec writes what protobuf writes, byte for
// byte, on random messages of every type of the fast path.
func TestSameBytesAsProtobuf(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(1, 2))}
	for i := range 5000 {
		m := g.message()
		want, err := proto.Marshal(m)
		require.NoError(t, err)
		_, fastOK := fastMessageOf(m)
		require.True(t, fastOK)
		require.Equal(t, string(want), string(marshal(t, m)), "message %d: %T %v", i, m, m)
	}
}

// TestLargeRepliesUsePooledBuffers: a reply past gRPC's pooling threshold
// is written into a pooled buffer of its size class, whole.
func TestLargeRepliesUsePooledBuffers(t *testing.T) {
	m := &pb.RangeResponse{Header: &pb.ResponseHeader{Revision: 9}, Count: 3000}
	for i := range 3000 {
		m.Kvs = append(m.Kvs, &mvccpb.KeyValue{Key: []byte{byte(i), byte(i >> 8)}, ModRevision: int64(i + 2), Value: make([]byte, 100)})
	}
	want, err := proto.Marshal(m)
	require.NoError(t, err)
	for range 3 { // again from the pool
		require.Equal(t, want, marshal(t, m))
	}
}

// TestLargeRangesAreWrittenInChunks: a range reply past two chunks is
// written as protobuf writes it, in pieces of at most chunkSize, except
// the one that starts with a KV longer than a chunk.
func TestLargeRangesAreWrittenInChunks(t *testing.T) {
	m := &pb.RangeResponse{Header: &pb.ResponseHeader{Revision: 9}, Count: 3000, More: true}
	for i := range 1000 {
		m.Kvs = append(m.Kvs, &mvccpb.KeyValue{Key: []byte{byte(i), byte(i >> 8)}, ModRevision: int64(i + 2), Value: make([]byte, 250)})
	}
	m.Kvs[500].Value = make([]byte, 3*chunkSize) // a piece of its own
	want, err := proto.Marshal(m)
	require.NoError(t, err)
	for range 3 { // again from the pool
		data, err := New(nil, nil).Marshal(m)
		require.NoError(t, err)
		require.Equal(t, want, data.Materialize())
		require.Greater(t, len(data), 8)
		long := 0
		for i, b := range data {
			require.NotZero(t, b.Len(), "piece %d is empty", i)
			if b.Len() > chunkSize {
				long++
			}
		}
		require.Equal(t, 1, long, "only the long KV's piece is longer than a chunk")
		data.Free()
	}
}

// TestWhatTheFastPathLeavesToProtobuf: messages it cannot write exactly as
// protobuf would still come out as protobuf writes them.
func TestWhatTheFastPathLeavesToProtobuf(t *testing.T) {
	withUnknown := &pb.RangeResponse{Count: 1, Kvs: []*mvccpb.KeyValue{{Key: []byte("k")}}}
	withUnknown.Kvs[0].ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 7))
	nilOp := &pb.TxnResponse{Responses: []*pb.ResponseOp{{Response: &pb.ResponseOp_ResponsePut{}}}}
	for _, m := range []proto.Message{withUnknown, nilOp, &pb.StatusResponse{Version: "3.7.3"}} {
		want, err := proto.Marshal(m)
		require.NoError(t, err)
		require.Equal(t, string(want), string(marshal(t, m)), "%T", m)
	}
	f, ok := fastMessageOf(withUnknown)
	require.True(t, ok)
	_, sized := f.size()
	require.False(t, sized, "unknown fields go to protobuf")
}

// TestPoolSizeClasses: a pooled buffer holds its size, at most a quarter
// more, and comes back from the pool of its class.
func TestPoolSizeClasses(t *testing.T) {
	for _, size := range []int{1, 5, 1023, 1024, 1025, 1280, 1281, 300 << 10, 1 << 20, 1<<20 + 1} {
		b := buffers.Get(size)
		require.Len(t, *b, size)
		require.GreaterOrEqual(t, cap(*b), size)
		if size > 4 {
			require.LessOrEqual(t, cap(*b), size+size/4+1, "size %d", size)
		}
		buffers.Put(b)
	}
	for size := 5; size < 1<<16; size++ {
		c, capacity := classOf(size)
		require.GreaterOrEqual(t, capacity, size)
		c2, capacity2 := classOf(capacity)
		require.Equal(t, c, c2, "a class's capacity is of that class (size %d)", size)
		require.Equal(t, capacity, capacity2)
		if size > 5 {
			prev, _ := classOf(size - 1)
			require.GreaterOrEqual(t, c, prev)
		}
	}
	b := make([]byte, 0, 1000) // not a class capacity
	buffers.Put(&b)
}

type byteCount struct{ n float64 }

func (c *byteCount) Add(v float64) { c.n += v }

// TestCountsPayloadBytes: the codec counts the bytes of what it writes
// and reads, fast path or not, as etcd's codec does.
func TestCountsPayloadBytes(t *testing.T) {
	var sent, received byteCount
	c := New(&sent, &received)
	g := gen{rand.New(rand.NewPCG(7, 8))}
	want := 0
	for range 100 {
		m := g.message()
		b, err := proto.Marshal(m)
		require.NoError(t, err)
		want += len(b)
		data, err := c.Marshal(m)
		require.NoError(t, err)
		data.Free()
	}
	slow := &pb.StatusResponse{Version: "3.7.3"} // protobuf writes it
	b, err := proto.Marshal(slow)
	require.NoError(t, err)
	want += len(b)
	data, err := c.Marshal(slow)
	require.NoError(t, err)
	data.Free()
	require.Equal(t, float64(want), sent.n)

	put, err := proto.Marshal(&pb.PutRequest{Key: []byte("k"), Value: []byte("value")})
	require.NoError(t, err)
	require.NoError(t, c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(put)}, &pb.PutRequest{}))
	require.NoError(t, c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, &pb.StatusResponse{}))
	require.Equal(t, float64(len(put)+len(b)), received.n)
}
