package apply

import (
	"strconv"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// benchmarkApply applies b.N entries, the i-th of req(i), each as its
// own Ready.
func benchmarkApply(b *testing.B, req func(i int) *pb.InternalRaftRequest) {
	l := newLog(b)
	entries := make([][]*raftpb.Entry, b.N)
	for i := range entries {
		r := req(i)
		r.Header = &pb.RequestHeader{ID: uint64(i + 1)}
		data, err := proto.Marshal(r)
		if err != nil {
			b.Fatal(err)
		}
		entries[i] = []*raftpb.Entry{entry(uint64(i+1), 1, data)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		l.a.Apply(entries[i])
	}
}

func BenchmarkApplyPut(b *testing.B) {
	benchmarkApply(b, func(int) *pb.InternalRaftRequest { return putReq("k") })
}

// BenchmarkApplyTxnPut applies the txns of metastore-bench's txn-put: if
// a new key's version is 0, put it.
func BenchmarkApplyTxnPut(b *testing.B) {
	benchmarkApply(b, func(i int) *pb.InternalRaftRequest {
		key := []byte("k" + strconv.Itoa(i))
		return &pb.InternalRaftRequest{Txn: &pb.TxnRequest{
			Compare: []*pb.Compare{{Key: key, Target: pb.Compare_VERSION, Result: pb.Compare_EQUAL,
				TargetUnion: &pb.Compare_Version{Version: 0}}},
			Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: key, Value: []byte("v")}}}},
		}}
	})
}
