package codec

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

func (g gen) putReq() *pb.PutRequest {
	return &pb.PutRequest{Key: g.bytes(), Value: g.bytes(), Lease: g.int64(), PrevKv: g.r.IntN(2) == 0,
		IgnoreValue: g.r.IntN(2) == 0, IgnoreLease: g.r.IntN(2) == 0}
}

func (g gen) rangeReq() *pb.RangeRequest {
	return &pb.RangeRequest{Key: g.bytes(), RangeEnd: g.bytes(), Limit: g.int64(), Revision: g.int64(),
		SortOrder: pb.RangeRequest_SortOrder(g.r.IntN(4) - 1), SortTarget: pb.RangeRequest_SortTarget(g.r.IntN(6)),
		Serializable: g.r.IntN(2) == 0, KeysOnly: g.r.IntN(2) == 0, CountOnly: g.r.IntN(2) == 0,
		MinModRevision: g.int64(), MaxModRevision: g.int64(), MinCreateRevision: g.int64(), MaxCreateRevision: g.int64()}
}

// wireVariant rewrites b as another valid encoding of the same message or
// a close one: fields reversed, a field repeated (the last one counts), a
// field of zero length, an unknown field, or a cut in the middle.
func (g gen) wireVariant(b []byte) []byte {
	var fields [][]byte
	for rest := b; len(rest) > 0; {
		_, _, n := protowire.ConsumeField(rest)
		fields = append(fields, rest[:n])
		rest = rest[n:]
	}
	var out []byte
	switch g.r.IntN(6) {
	case 0:
		for i := len(fields) - 1; i >= 0; i-- {
			out = append(out, fields[i]...)
		}
	case 1:
		out = append(out, b...)
		if len(fields) > 0 {
			out = append(out, fields[g.r.IntN(len(fields))]...)
		}
	case 2:
		out = protowire.AppendBytes(protowire.AppendTag(append(out, b...), 1, protowire.BytesType), nil)
	case 3:
		out = protowire.AppendVarint(protowire.AppendTag(append(out, b...), 77, protowire.VarintType), 5)
	case 4:
		if len(b) > 1 {
			return b[:g.r.IntN(len(b)-1)+1]
		}
		return b
	default:
		return b
	}
	return out
}

// TestRequestsReadAsProtobufReadsThem: on random requests and on other
// encodings of them (reordered, repeated, unknown and empty fields, cut
// short), the codec reads what protobuf reads, or fails where it fails.
func TestRequestsReadAsProtobufReadsThem(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(3, 4))}
	c := New(nil, nil)
	for i := range 8000 {
		var m proto.Message
		switch i % 5 {
		case 0:
			m = g.putReq()
		case 1:
			m = g.rangeReq()
		case 2:
			m = g.txnReq(0)
		case 3:
			m = g.deleteReq()
		default:
			m = &pb.LeaseKeepAliveRequest{ID: g.int64()}
		}
		b, err := proto.Marshal(m)
		require.NoError(t, err)
		b = g.wireVariant(b)

		want := m.ProtoReflect().New().Interface()
		wantErr := proto.Unmarshal(b, want)
		got := m.ProtoReflect().New().Interface()
		gotErr := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(append([]byte(nil), b...))}, got)
		if wantErr != nil {
			require.Error(t, gotErr, "request %d: %x", i, b)
			continue
		}
		require.NoError(t, gotErr, "request %d: %x", i, b)
		require.True(t, proto.Equal(want, got), "request %d: %x\nwant %v\ngot  %v", i, b, want, got)
		require.True(t, reflect.DeepEqual(fieldsOf(want), fieldsOf(got)), "request %d: nil and empty bytes as protobuf leaves them: %x", i, b)
	}
}

// fieldsOf lists the byte fields of a request, which proto.Equal compares
// without telling nil from empty.
func fieldsOf(m proto.Message) [][]byte {
	switch r := m.(type) {
	case *pb.PutRequest:
		return [][]byte{r.Key, r.Value}
	case *pb.RangeRequest:
		return [][]byte{r.Key, r.RangeEnd}
	case *pb.DeleteRangeRequest:
		return [][]byte{r.Key, r.RangeEnd}
	}
	return nil
}

// TestRequestBytesOutliveTheReceiveBuffer: the fast path copies what it
// keeps, since gRPC reuses the buffer a request arrived in.
func TestRequestBytesOutliveTheReceiveBuffer(t *testing.T) {
	b, err := proto.Marshal(&pb.PutRequest{Key: []byte("key"), Value: []byte("value")})
	require.NoError(t, err)
	var r pb.PutRequest
	require.NoError(t, New(nil, nil).Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, &r))
	clear(b)
	require.Equal(t, "key", string(r.Key))
	require.Equal(t, "value", string(r.Value))
	require.Equal(t, 3, cap(r.Key), "an append to the key cannot spill into the value")
}

// TestFastPathTakesWhatClientsSend: requests as clientv3 encodes them are
// read by the fast path, not handed to protobuf.
func TestFastPathTakesWhatClientsSend(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(5, 6))}
	for range 200 {
		for _, m := range []proto.Message{g.putReq(), g.rangeReq(), &pb.LeaseKeepAliveRequest{ID: g.int64()}, g.txnReq(0), g.deleteReq()} {
			b, err := proto.Marshal(m)
			require.NoError(t, err)
			require.True(t, unmarshalFast(b, m.ProtoReflect().New().Interface()), "%T %v", m, m)
		}
	}
	b := protowire.AppendVarint(protowire.AppendTag(nil, 77, protowire.VarintType), 5)
	require.False(t, unmarshalFast(b, &pb.PutRequest{}), "an unknown field is protobuf's")
}

func BenchmarkUnmarshalPut(b *testing.B) {
	data, _ := proto.Marshal(&pb.PutRequest{Key: []byte("key-00001234"), Value: make([]byte, 256)})
	c := New(nil, nil)
	p := c.proto
	for _, codec := range []struct {
		name string
		un   func(mem.BufferSlice, any) error
	}{{"metastore", c.Unmarshal}, {"grpc-proto", p.Unmarshal}} {
		b.Run(codec.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				var r pb.PutRequest
				if err := codec.un(mem.BufferSlice{mem.SliceBuffer(data)}, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
