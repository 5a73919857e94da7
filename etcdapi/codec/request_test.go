package codec

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

func (g gen) deleteReq() *pb.DeleteRangeRequest {
	return &pb.DeleteRangeRequest{Key: g.bytes(), RangeEnd: g.bytes(), PrevKv: g.r.IntN(2) == 0}
}

func (g gen) compare() *pb.Compare {
	c := &pb.Compare{Result: pb.Compare_CompareResult(g.r.IntN(5) - 1), Target: pb.Compare_CompareTarget(g.r.IntN(6)),
		Key: g.bytes(), RangeEnd: g.bytes()}
	switch g.r.IntN(6) {
	case 0:
		c.TargetUnion = &pb.Compare_Version{Version: g.int64()}
	case 1:
		c.TargetUnion = &pb.Compare_CreateRevision{CreateRevision: g.int64()}
	case 2:
		c.TargetUnion = &pb.Compare_ModRevision{ModRevision: g.int64()}
	case 3:
		c.TargetUnion = &pb.Compare_Value{Value: g.bytes()}
	case 4:
		c.TargetUnion = &pb.Compare_Lease{Lease: g.int64()}
	}
	return c
}

func (g gen) requestOp(depth int) *pb.RequestOp {
	op := &pb.RequestOp{}
	switch g.r.IntN(5) {
	case 0:
		op.Request = &pb.RequestOp_RequestRange{RequestRange: g.rangeReq()}
	case 1:
		op.Request = &pb.RequestOp_RequestPut{RequestPut: g.putReq()}
	case 2:
		op.Request = &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: g.deleteReq()}
	case 3:
		if depth < 2 {
			op.Request = &pb.RequestOp_RequestTxn{RequestTxn: g.txnReq(depth + 1)}
		}
	}
	return op
}

func (g gen) txnReq(depth int) *pb.TxnRequest {
	m := &pb.TxnRequest{}
	for range g.r.IntN(4) {
		m.Compare = append(m.Compare, g.compare())
	}
	for range g.r.IntN(4) {
		m.Success = append(m.Success, g.requestOp(depth))
	}
	for range g.r.IntN(3) {
		m.Failure = append(m.Failure, g.requestOp(depth))
	}
	return m
}

func (g gen) raftReq() *pb.InternalRaftRequest {
	r := &pb.InternalRaftRequest{ID: uint64(g.int64())}
	switch g.r.IntN(3) {
	case 0:
		r.Put = g.putReq()
	case 1:
		r.DeleteRange = g.deleteReq()
	default:
		r.Txn = g.txnReq(0)
	}
	if g.r.IntN(4) > 0 {
		users := []string{"", "root", "ユーザー"}
		r.Header = &pb.RequestHeader{ID: uint64(g.int64()), Username: users[g.r.IntN(len(users))], AuthRevision: uint64(g.int64())}
	}
	return r
}

// TestRaftRequestsAsProtobuf: the proposals of the fast path are written
// byte for byte as protobuf writes them, and read back as protobuf reads
// them, by the fast path.
func TestRaftRequestsAsProtobuf(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(7, 8))}
	for i := range 3000 {
		r := g.raftReq()
		want, err := proto.Marshal(r)
		require.NoError(t, err)
		_, fast := sizeRaftRequest(r)
		require.True(t, fast, "request %d: %v", i, r)
		got, err := MarshalRaftRequest(r)
		require.NoError(t, err)
		require.Equal(t, want, got, "request %d: %v", i, r)

		var back pb.InternalRaftRequest
		require.True(t, unmarshalRaftRequest(got, &back), "request %d read by the fast path: %v", i, r)
		require.True(t, proto.Equal(r, &back), "request %d:\nwant %v\ngot  %v", i, r, &back)
	}
}

// TestRaftRequestsReadAsProtobufReadsThem: other encodings of proposals
// (reordered, repeated, unknown and empty fields, cut short) are read as
// protobuf reads them, or fail where it fails.
func TestRaftRequestsReadAsProtobufReadsThem(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(9, 10))}
	for i := range 3000 {
		b, err := proto.Marshal(g.raftReq())
		require.NoError(t, err)
		b = g.wireVariant(b)
		var want, got pb.InternalRaftRequest
		wantErr := proto.Unmarshal(b, &want)
		gotErr := UnmarshalRaftRequest(b, &got)
		if wantErr != nil {
			require.Error(t, gotErr, "request %d: %x", i, b)
			continue
		}
		require.NoError(t, gotErr, "request %d: %x", i, b)
		require.True(t, proto.Equal(&want, &got), "request %d: %x\nwant %v\ngot  %v", i, b, &want, &got)
	}
}

// TestCompareValueKeptWhenEmpty: a comparison with an empty value still
// compares the value, as protobuf reads it.
func TestCompareValueKeptWhenEmpty(t *testing.T) {
	r := &pb.InternalRaftRequest{Txn: &pb.TxnRequest{Compare: []*pb.Compare{{
		Target: pb.Compare_VALUE, Key: []byte("k"), TargetUnion: &pb.Compare_Value{}}}}}
	b, err := MarshalRaftRequest(r)
	require.NoError(t, err)
	var back pb.InternalRaftRequest
	require.True(t, unmarshalRaftRequest(b, &back))
	v, ok := back.Txn.Compare[0].TargetUnion.(*pb.Compare_Value)
	require.True(t, ok, "target %T", back.Txn.Compare[0].TargetUnion)
	require.Empty(t, v.Value)
}

// TestRaftRequestFastPathKnowsEveryField sets each field of
// InternalRaftRequest in turn beside a put: the fast path writes it as
// protobuf does or leaves the request to protobuf, and reads it back
// whole. A field etcd adds to the message fails here until the fast path
// knows of it.
func TestRaftRequestFastPathKnowsEveryField(t *testing.T) {
	fds := (&pb.InternalRaftRequest{}).ProtoReflect().Descriptor().Fields()
	for i := range fds.Len() {
		fd := fds.Get(i)
		r := &pb.InternalRaftRequest{Put: &pb.PutRequest{Key: []byte("k")}}
		m := r.ProtoReflect()
		if fd.Kind() == protoreflect.MessageKind {
			m.Set(fd, protoreflect.ValueOfMessage(m.NewField(fd).Message()))
		} else {
			m.Set(fd, protoreflect.ValueOfUint64(7))
		}
		want, err := proto.Marshal(r)
		require.NoError(t, err)
		got, err := MarshalRaftRequest(r)
		require.NoError(t, err)
		require.Equal(t, want, got, "field %s", fd.Name())
		var back pb.InternalRaftRequest
		require.NoError(t, UnmarshalRaftRequest(got, &back))
		require.True(t, proto.Equal(r, &back), "field %s: %v", fd.Name(), &back)
	}
}

func BenchmarkRaftRequestTxn(b *testing.B) {
	r := &pb.InternalRaftRequest{Header: &pb.RequestHeader{ID: 12345}, Txn: &pb.TxnRequest{
		Compare: []*pb.Compare{{Target: pb.Compare_VERSION, Key: []byte("key-00001234"), TargetUnion: &pb.Compare_Version{}}},
		Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: []byte("key-00001234"), Value: make([]byte, 256)}}}},
	}}
	data, _ := proto.Marshal(r)
	b.Run("marshal/metastore", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = MarshalRaftRequest(r)
		}
	})
	b.Run("marshal/protobuf", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = proto.Marshal(r)
		}
	})
	b.Run("unmarshal/metastore", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var back pb.InternalRaftRequest
			_ = UnmarshalRaftRequest(data, &back)
		}
	})
	b.Run("unmarshal/protobuf", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var back pb.InternalRaftRequest
			_ = proto.Unmarshal(data, &back)
		}
	})
}

// TestRaftRequestID: the proposal id is read from the header of a
// proposal however it was encoded, and malformed bytes are refused
// without a panic.
func TestRaftRequestID(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(11, 12))}
	for i := range 3000 {
		r := g.raftReq()
		b, err := MarshalRaftRequest(r)
		require.NoError(t, err)
		if i%2 == 1 {
			b = g.wireVariant(b)
		}
		var want pb.InternalRaftRequest
		if proto.Unmarshal(b, &want) != nil {
			_, _ = RaftRequestID(b)
			continue
		}
		id, ok := RaftRequestID(b)
		if wantID := want.GetHeader().GetID(); wantID != 0 {
			require.True(t, ok, "request %d: %x", i, b)
			require.Equal(t, wantID, id, "request %d: %x", i, b)
		} else {
			require.False(t, ok, "request %d without an id: %x", i, b)
		}
	}
}
