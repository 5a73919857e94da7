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
		m.Kvs = append(m.Kvs, &slab[i])
	}
	fillRange(m, valueSize)
	return m
}

// fillRange sets the KVs of m afresh, as mvcc's pool refills a slab it
// took back: a message reset this way has lost what protobuf's reflection
// had cached on it.
func fillRange(m *pb.RangeResponse, valueSize int) {
	for i, kv := range m.Kvs {
		key, value := kv.Key, kv.Value
		if key == nil {
			key = []byte(fmt.Sprintf("key-%010d", i))
		}
		if value == nil && valueSize > 0 {
			value = make([]byte, valueSize)
		}
		*kv = mvccpb.KeyValue{Key: key, CreateRevision: int64(i + 2), ModRevision: int64(i + 2), Version: 1, Value: value}
	}
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

// BenchmarkMarshalPooled marshals the reply of a range of 1,000 keys
// refilled before each call, as mvcc's pool hands it out: registered with
// ReleaseAfterMarshal, as the server does, and not.
func BenchmarkMarshalPooled(b *testing.B) {
	c := New(nil, nil)
	for _, registered := range []bool{true, false} {
		b.Run(fmt.Sprintf("registered=%v", registered), func(b *testing.B) {
			m := rangeOf(1000, 256)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				fillRange(m, 256)
				if registered {
					ReleaseAfterMarshal(m, func() {})
				}
				b.StartTimer()
				data, err := c.Marshal(m)
				if err != nil {
					b.Fatal(err)
				}
				data.Free()
			}
		})
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
