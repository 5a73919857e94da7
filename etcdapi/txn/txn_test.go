package txn

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap/zaptest"

	"github.com/metastore/metastore/mvcc"
	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/plugins/storage/memory"
)

// newStore returns a store holding a=1 (rev 2), b=2 (rev 3), c=3 (rev 4),
// then a=4 (rev 5).
func newStore(t *testing.T) *mvcc.Store {
	t.Helper()
	eng := memory.New()
	_, err := eng.Open(context.Background(), storage.OpenRequest{Dir: t.TempDir()})
	require.NoError(t, err)
	s, err := mvcc.New(zaptest.NewLogger(t), eng, 0, mvcc.Config{FlushInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	for i, kv := range [][2]string{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"a", "4"}} {
		tw := s.Write(uint64(i + 1))
		tw.Put([]byte(kv[0]), []byte(kv[1]), 0)
		tw.End()
	}
	return s
}

func keysOf(resp *pb.RangeResponse) string {
	out := ""
	for _, kv := range resp.Kvs {
		out += string(kv.Key) + "=" + string(kv.Value) + " "
	}
	return out
}

func TestRange(t *testing.T) {
	s := newStore(t)
	tests := []struct {
		name  string
		req   *pb.RangeRequest
		want  string
		count int64
		more  bool
	}{
		{"all keys in key order", &pb.RangeRequest{Key: []byte("a"), RangeEnd: []byte("z")}, "a=4 b=2 c=3 ", 3, false},
		{"a limit pushed down still tells there is more", &pb.RangeRequest{Key: []byte("a"), RangeEnd: []byte("z"), Limit: 2}, "a=4 b=2 ", 3, true},
		{"descending by key", &pb.RangeRequest{Key: []byte("a"), RangeEnd: []byte("z"), SortOrder: pb.RangeRequest_DESCEND}, "c=3 b=2 a=4 ", 3, false},
		{"by mod revision without an order sorts ascending", &pb.RangeRequest{Key: []byte("a"), RangeEnd: []byte("z"), SortTarget: pb.RangeRequest_MOD}, "b=2 c=3 a=4 ", 3, false},
		{"by value descending, then the limit", &pb.RangeRequest{Key: []byte("a"), RangeEnd: []byte("z"), SortTarget: pb.RangeRequest_VALUE, SortOrder: pb.RangeRequest_DESCEND, Limit: 1}, "a=4 ", 3, true},
		{"a revision filter prunes after the read", &pb.RangeRequest{Key: []byte("a"), RangeEnd: []byte("z"), MaxModRevision: 3}, "b=2 ", 3, false},
		{"at an older revision", &pb.RangeRequest{Key: []byte("a"), Revision: 4}, "a=1 ", 1, false},
		{"keys only", &pb.RangeRequest{Key: []byte("b"), KeysOnly: true}, "b= ", 1, false},
		{"count only", &pb.RangeRequest{Key: []byte("a"), RangeEnd: []byte{0}, CountOnly: true}, "", 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := Range(context.Background(), s, tt.req)
			require.NoError(t, err)
			require.Equal(t, tt.want, keysOf(resp))
			require.Equal(t, tt.count, resp.Count)
			require.Equal(t, tt.more, resp.More)
			require.EqualValues(t, 5, resp.Header.Revision)
		})
	}
	_, err := Range(context.Background(), s, &pb.RangeRequest{Key: []byte("a"), Revision: 9})
	require.ErrorIs(t, err, mvcc.ErrFutureRev)
}

func put(k, v string, lease int64) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: []byte(k), Value: []byte(v), Lease: lease}}}
}

func get(k string, rev int64) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestRange{RequestRange: &pb.RangeRequest{Key: []byte(k), Revision: rev}}}
}

func nested(r *pb.TxnRequest) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestTxn{RequestTxn: r}}
}

func valueIs(k, v string) *pb.Compare {
	return &pb.Compare{Key: []byte(k), Target: pb.Compare_VALUE, Result: pb.Compare_EQUAL, TargetUnion: &pb.Compare_Value{Value: []byte(v)}}
}

type leaseSet map[int64]bool

func (l leaseSet) Exists(id int64) bool { return l[id] }

// run runs r as the applier does, as one write at index.
func run(t *testing.T, s *mvcc.Store, index uint64, r *pb.TxnRequest, leases Leases) (*pb.TxnResponse, []bool, error) {
	tw := s.Write(index)
	defer tw.End()
	path, err := Path(context.Background(), tw, r)
	require.NoError(t, err)
	if err := Check(tw, s, leases, r, path); err != nil {
		return nil, path, err
	}
	resp := NewResponse(r, path)
	require.NoError(t, Execute(context.Background(), tw, r, path, resp))
	return resp, path, nil
}

func TestTxnPathsAndChecks(t *testing.T) {
	s := newStore(t)
	// The compares of the nested txns see the state before the outer
	// txn: the inner one fails although the outer one's put would make
	// it hold.
	r := &pb.TxnRequest{
		Compare: []*pb.Compare{valueIs("a", "4")},
		Success: []*pb.RequestOp{
			put("b", "x", 0),
			nested(&pb.TxnRequest{Compare: []*pb.Compare{valueIs("b", "x")}, Success: []*pb.RequestOp{put("c", "yes", 0)}, Failure: []*pb.RequestOp{get("b", 0)}}),
		},
		Failure: []*pb.RequestOp{put("z", "no", 0)},
	}
	resp, path, err := run(t, s, 10, r, leaseSet{})
	require.NoError(t, err)
	require.Equal(t, []bool{true, false}, path)
	require.True(t, resp.Succeeded)
	inner := resp.Responses[1].GetResponseTxn()
	require.False(t, inner.Succeeded)
	require.Equal(t, "x", string(inner.Responses[0].GetResponseRange().Kvs[0].Value), "an op sees the writes of earlier ops")

	tests := []struct {
		name string
		r    *pb.TxnRequest
		want error
	}{
		{"a put on a missing lease", &pb.TxnRequest{Success: []*pb.RequestOp{put("k", "v", 7)}}, ErrLeaseNotFound},
		{"an ignore_value put on a missing key", &pb.TxnRequest{Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: []byte("nope"), IgnoreValue: true}}}}}, ErrKeyNotFound},
		{"a range at a future revision, nested", &pb.TxnRequest{Success: []*pb.RequestOp{nested(&pb.TxnRequest{Success: []*pb.RequestOp{get("a", 99)}})}}, mvcc.ErrFutureRev},
		{"only the taken branch is checked", &pb.TxnRequest{Compare: []*pb.Compare{valueIs("a", "0")}, Success: []*pb.RequestOp{put("k", "v", 7)}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rev := s.Rev()
			_, _, err := run(t, s, 20, tt.r, leaseSet{})
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
			require.Equal(t, rev, s.Rev(), "a txn that fails its checks writes nothing")
		})
	}
}

func TestReadOnlyTxnIsPinned(t *testing.T) {
	s := newStore(t)
	r := &pb.TxnRequest{Compare: []*pb.Compare{valueIs("a", "4")}, Success: []*pb.RequestOp{get("a", 0), get("b", 2)}}
	require.True(t, IsReadOnly(r))
	require.False(t, IsSerializable(r))
	resp, err := ReadOnly(context.Background(), s, r)
	require.NoError(t, err)
	require.True(t, resp.Succeeded)
	require.EqualValues(t, 5, resp.Header.Revision)
	require.Equal(t, "4", string(resp.Responses[0].GetResponseRange().Kvs[0].Value))
	require.Empty(t, resp.Responses[1].GetResponseRange().Kvs, "b did not exist at revision 2")

	require.False(t, IsReadOnly(&pb.TxnRequest{Failure: []*pb.RequestOp{put("k", "v", 0)}}))
}
