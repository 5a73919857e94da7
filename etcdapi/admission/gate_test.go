package admission

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap/zaptest"

	"github.com/metastore/metastore/pluginapi/quota"
	"github.com/metastore/metastore/plugins/quota/backendbytes"
)

func put(k, v string) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: []byte(k), Value: []byte(v)}}}
}

func TestRequestCosts(t *testing.T) {
	tests := []struct {
		name  string
		r     *pb.InternalRaftRequest
		kind  quota.WriteKind
		cost  int64
		puts  int
		grows bool
	}{
		{"a put costs its key, value and overhead", &pb.InternalRaftRequest{Put: &pb.PutRequest{Key: []byte("k"), Value: []byte("vv")}}, quota.WritePut, kvOverhead + 3, 1, true},
		{"a txn costs its costlier branch, nested txns included",
			&pb.InternalRaftRequest{Txn: &pb.TxnRequest{
				Success: []*pb.RequestOp{put("a", "1")},
				Failure: []*pb.RequestOp{put("b", "2"), {Request: &pb.RequestOp_RequestTxn{RequestTxn: &pb.TxnRequest{Success: []*pb.RequestOp{put("c", "3")}}}}},
			}}, quota.WriteTxn, 2 * (kvOverhead + 2), 3, true},
		{"a lease grant", &pb.InternalRaftRequest{LeaseGrant: &pb.LeaseGrantRequest{TTL: 5}}, quota.WriteLeaseGrant, leaseOverhead, 0, true},
		{"a txn without puts does not grow the store", &pb.InternalRaftRequest{Txn: &pb.TxnRequest{}}, quota.WriteTxn, 0, 0, false},
		{"nor does a delete", &pb.InternalRaftRequest{DeleteRange: &pb.DeleteRangeRequest{Key: []byte("k")}}, 0, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, grows := Request(tt.r)
			require.Equal(t, tt.grows, grows)
			if !grows {
				return
			}
			require.Equal(t, tt.kind, req.Kind)
			require.Equal(t, tt.cost, req.Cost)
			require.Len(t, req.Puts, tt.puts)
		})
	}
	require.Len(t, WriteBranches(&pb.InternalRaftRequest{Txn: &pb.TxnRequest{Success: []*pb.RequestOp{put("a", "1")}}}), 2, "a txn has two branches")
}

// deadPolicy cannot decide, as a plugin whose process is gone.
type deadPolicy struct{}

func (deadPolicy) Info(context.Context) (quota.InfoResponse, error) {
	return quota.InfoResponse{}, quota.ErrUnavailable
}

func (deadPolicy) Check(context.Context, quota.CheckRequest) (quota.CheckResponse, error) {
	return quota.CheckResponse{}, quota.ErrUnavailable
}

func TestGateCountsWhatItAdmitsAndFallsBack(t *testing.T) {
	var size, measures atomic.Int64
	measure := func() quota.Usage {
		measures.Add(1)
		return quota.Usage{BackendBytes: size.Load(), BackendBytesInUse: size.Load()}
	}
	g := New(zaptest.NewLogger(t), deadPolicy{}, backendbytes.New(1000), measure)
	ctx := context.Background()
	req, _ := Request(&pb.InternalRaftRequest{Put: &pb.PutRequest{Key: []byte("k"), Value: make([]byte, 200)}})

	require.True(t, g.Check(ctx, req, false).Admit, "the fallback decides for the dead policy")
	require.EqualValues(t, 1, measures.Load(), "the first check measures")
	require.True(t, g.Check(ctx, req, false).Admit)
	require.EqualValues(t, 1, measures.Load(), "a recent measure is reused")
	resp := g.Check(ctx, req, false)
	require.False(t, resp.Admit, "three puts of %d bytes on top of the measure pass 1000", req.Cost)
	require.Equal(t, quota.AlarmNoSpace, resp.Alarm)

	// A fresh measure forgets what was admitted before it.
	require.True(t, g.Check(ctx, req, true).Admit)
	require.EqualValues(t, 2, measures.Load())

	require.True(t, New(zaptest.NewLogger(t), nil, nil, measure).Check(ctx, req, true).Admit, "no policy admits everything")
}
