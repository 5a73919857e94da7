package codec

import (
	"fmt"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/grpc/encoding"
)

func rangeOf(n, valueSize int) *pb.RangeResponse {
	m := &pb.RangeResponse{Header: &pb.ResponseHeader{ClusterId: 7, MemberId: 9, Revision: 1 << 20, RaftTerm: 3}, Count: int64(n)}
	slab := make([]mvccpb.KeyValue, n)
	for i := range slab {
		kv := &slab[i]
		kv.Key, kv.CreateRevision, kv.ModRevision, kv.Version = []byte(fmt.Sprintf("key-%010d", i)), int64(i+2), int64(i+2), 1
		if valueSize > 0 {
			kv.Value = make([]byte, valueSize)
		}
		m.Kvs = append(m.Kvs, kv)
	}
	return m
}

// BenchmarkMarshal compares the codec with gRPC's proto codec on the
// replies of a range of 1,000 keys with 256-byte values and of a keys-only
// range of 100,000 keys.
func BenchmarkMarshal(b *testing.B) {
	for _, c := range []struct {
		name string
		m    *pb.RangeResponse
	}{{"range-1000", rangeOf(1000, 256)}, {"keys-only-100000", rangeOf(100_000, 0)}} {
		for _, codec := range []encoding.CodecV2{New(nil, nil), encoding.GetCodecV2("proto")} {
			name := "metastore"
			if _, ok := codec.(*Codec); !ok {
				name = "grpc-proto"
			}
			b.Run(c.name+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					data, err := codec.Marshal(c.m)
					if err != nil {
						b.Fatal(err)
					}
					data.Free()
				}
			})
		}
	}
}

// BenchmarkMarshalSmall compares the two on a keepalive reply.
func BenchmarkMarshalSmall(b *testing.B) {
	m := &pb.LeaseKeepAliveResponse{Header: &pb.ResponseHeader{ClusterId: 7, MemberId: 9, Revision: 1 << 20, RaftTerm: 3}, ID: 1 << 40, TTL: 60}
	for _, codec := range []encoding.CodecV2{New(nil, nil), encoding.GetCodecV2("proto")} {
		name := "metastore"
		if _, ok := codec.(*Codec); !ok {
			name = "grpc-proto"
		}
		b.Run("keepalive/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				data, err := codec.Marshal(m)
				if err != nil {
					b.Fatal(err)
				}
				data.Free()
			}
		})
	}
}
