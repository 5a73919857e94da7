package etcdapi

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	"github.com/metastore/metastore/mvcc"
	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/plugins/storage/memory"
)

// localRaft commits every proposal at once, in order: the API and applier
// are tested without a raft node.
type localRaft struct {
	mu    sync.Mutex
	s     *Server
	index uint64
}

func (r *localRaft) ProposeQueued(_ context.Context, data []byte, _ <-chan struct{}, _ func(error)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.index++
	r.s.Apply([]*raftpb.Entry{{Index: proto.Uint64(r.index), Type: raftpb.EntryNormal.Enum(), Data: data}})
	return nil
}

func (r *localRaft) ReadIndex(context.Context) (uint64, error) { return 0, nil }

func (r *localRaft) WaitApplied(context.Context, uint64) error { return nil }

func (r *localRaft) Status() RaftStatus { return RaftStatus{Leader: 1, Term: 2} }

func (r *localRaft) MemberID() uint64 { return 1 }

func (r *localRaft) ClusterID() uint64 { return 7 }

func newTestServer(t *testing.T) *Server { return newTestServerWith(t, Deps{}) }

// newTestServerWith builds a Server from d over a memory engine, test
// settings filled in where d has none.
func newTestServerWith(t *testing.T, d Deps) *Server {
	t.Helper()
	eng := memory.New()
	_, err := eng.Open(context.Background(), storage.OpenRequest{Dir: t.TempDir()})
	require.NoError(t, err)
	store, err := mvcc.New(zaptest.NewLogger(t), eng, 0, mvcc.Config{FlushInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	return testServer(t, store, d)
}

// testServer builds a Server from d over store and attaches a localRaft,
// without the lease loop and auto-compaction.
func testServer(t *testing.T, store *mvcc.Store, d Deps) *Server {
	t.Helper()
	d.Store = store
	if d.Log == nil {
		d.Log = zaptest.NewLogger(t)
	}
	if d.Config.MaxTxnOps == 0 {
		d.Config.MaxTxnOps = 8
	}
	if d.Config.MaxRequestBytes == 0 {
		d.Config.MaxRequestBytes = 1 << 20
	}
	if d.Config.RequestTimeout == 0 {
		d.Config.RequestTimeout = time.Second
	}
	if d.Config.Version == "" {
		d.Config.Version = "3.7.3"
	}
	if d.DBSize == nil {
		d.DBSize = func() (int64, int64) { return 0, 0 }
	}
	s, err := New(context.Background(), d)
	require.NoError(t, err)
	s.attachRaft(&localRaft{s: s})
	return s
}

func TestPutRangeHeaders(t *testing.T) {
	s := newTestServer(t)
	kv := s.KV()
	ctx := context.Background()

	r, err := kv.Range(ctx, &pb.RangeRequest{Key: []byte("a")})
	require.NoError(t, err)
	require.Equal(t, int64(1), r.Header.Revision)
	require.Equal(t, uint64(7), r.Header.ClusterId)
	require.Equal(t, uint64(1), r.Header.MemberId)
	require.Equal(t, uint64(2), r.Header.RaftTerm)

	p, err := kv.Put(ctx, &pb.PutRequest{Key: []byte("a"), Value: []byte("1")})
	require.NoError(t, err)
	require.Equal(t, int64(2), p.Header.Revision)

	_, err = kv.Put(ctx, &pb.PutRequest{Key: []byte("a"), Value: []byte("1"), Lease: 3})
	require.ErrorIs(t, err, rpctypes.ErrGRPCLeaseNotFound)
	_, err = kv.Put(ctx, &pb.PutRequest{Key: []byte("b"), IgnoreValue: true})
	require.ErrorIs(t, err, rpctypes.ErrGRPCKeyNotFound)
	_, err = kv.Put(ctx, &pb.PutRequest{Key: []byte("b"), Value: make([]byte, 1<<20)})
	require.ErrorIs(t, err, rpctypes.ErrGRPCRequestTooLarge)

	r, err = kv.Range(ctx, &pb.RangeRequest{Key: []byte("a")})
	require.NoError(t, err)
	require.Equal(t, int64(2), r.Header.Revision, "failed requests change nothing")
}

func TestTxnReadsOwnWritesAndComparesBefore(t *testing.T) {
	s := newTestServer(t)
	kv := s.KV()
	ctx := context.Background()
	_, err := kv.Put(ctx, &pb.PutRequest{Key: []byte("a"), Value: []byte("1")})
	require.NoError(t, err)

	resp, err := kv.Txn(ctx, &pb.TxnRequest{
		Compare: []*pb.Compare{{Key: []byte("a"), Target: pb.Compare_VALUE, Result: pb.Compare_EQUAL, TargetUnion: &pb.Compare_Value{Value: []byte("1")}}},
		Success: []*pb.RequestOp{
			{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: []byte("a"), Value: []byte("2"), PrevKv: true}}},
			{Request: &pb.RequestOp_RequestRange{RequestRange: &pb.RangeRequest{Key: []byte("a")}}},
			{Request: &pb.RequestOp_RequestTxn{RequestTxn: &pb.TxnRequest{
				// Nested compares also see the state before the txn: a is
				// still "1" for them.
				Compare: []*pb.Compare{{Key: []byte("a"), Target: pb.Compare_VALUE, Result: pb.Compare_EQUAL, TargetUnion: &pb.Compare_Value{Value: []byte("2")}}},
				Failure: []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: []byte("b"), Value: []byte("x")}}}},
			}}},
		},
	})
	require.NoError(t, err)
	require.True(t, resp.Succeeded)
	require.Equal(t, int64(3), resp.Header.Revision)
	require.Equal(t, "1", string(resp.Responses[0].GetResponsePut().PrevKv.Value))
	got := resp.Responses[1].GetResponseRange()
	require.Equal(t, "2", string(got.Kvs[0].Value), "a range sees the txn's earlier put")
	require.Equal(t, int64(3), got.Header.Revision)
	nested := resp.Responses[2].GetResponseTxn()
	require.False(t, nested.Succeeded)
	require.Equal(t, int64(3), nested.Responses[0].GetResponsePut().Header.Revision)
}

func TestCompactionErrors(t *testing.T) {
	s := newTestServer(t)
	kv := s.KV()
	ctx := context.Background()
	for range 3 {
		_, err := kv.Put(ctx, &pb.PutRequest{Key: []byte("a"), Value: []byte("v")})
		require.NoError(t, err)
	}
	_, err := kv.Compact(ctx, &pb.CompactionRequest{Revision: 10})
	require.ErrorIs(t, err, rpctypes.ErrGRPCFutureRev)
	_, err = kv.Compact(ctx, &pb.CompactionRequest{Revision: 3, Physical: true})
	require.NoError(t, err)
	_, err = kv.Compact(ctx, &pb.CompactionRequest{Revision: 3})
	require.ErrorIs(t, err, rpctypes.ErrGRPCCompacted)
	_, err = kv.Range(ctx, &pb.RangeRequest{Key: []byte("a"), Revision: 2})
	require.ErrorIs(t, err, rpctypes.ErrGRPCCompacted)
	r, err := kv.Range(ctx, &pb.RangeRequest{Key: []byte("a"), Revision: 3})
	require.NoError(t, err)
	require.Len(t, r.Kvs, 1)
}
