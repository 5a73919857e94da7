package etcdapi

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/metastore/metastore/etcdapi/corruption"
	"github.com/metastore/metastore/mvcc"
	"github.com/metastore/metastore/pluginapi/storage"
)

// corruptAlarms lists the members with CORRUPT raised.
func corruptAlarms(s *Server) []uint64 {
	var out []uint64
	for _, a := range s.Alarms() {
		if a.Alarm == pb.AlarmType_CORRUPT {
			out = append(out, a.MemberID)
		}
	}
	return out
}

func TestCorruptAlarmRefusesWritesNotReads(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	_, err := s.KV().Put(ctx, &pb.PutRequest{Key: []byte("k"), Value: []byte("v")})
	require.NoError(t, err)
	require.NoError(t, s.RaiseCorrupt(ctx, 5))
	require.Equal(t, []uint64{5}, corruptAlarms(s))

	_, err = s.KV().Put(ctx, &pb.PutRequest{Key: []byte("k"), Value: []byte("w")})
	require.Equal(t, rpctypes.ErrGRPCCorrupt, err)
	_, err = s.KV().DeleteRange(ctx, &pb.DeleteRangeRequest{Key: []byte("k")})
	require.Equal(t, rpctypes.ErrGRPCCorrupt, err)
	_, err = s.KV().Txn(ctx, &pb.TxnRequest{Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{
		RequestPut: &pb.PutRequest{Key: []byte("t"), Value: []byte("v")}}}}})
	require.Equal(t, rpctypes.ErrGRPCCorrupt, err)
	_, err = s.KV().Compact(ctx, &pb.CompactionRequest{Revision: 2})
	require.Equal(t, rpctypes.ErrGRPCCorrupt, err)

	resp, err := s.KV().Range(ctx, &pb.RangeRequest{Key: []byte("k")})
	require.NoError(t, err)
	require.Equal(t, "v", string(resp.Kvs[0].Value))
	require.Equal(t, int64(2), resp.Header.Revision, "refused writes leave the revision alone")

	// Disarming lets writes through again.
	_, err = s.Maintenance().Alarm(ctx, &pb.AlarmRequest{Action: pb.AlarmRequest_DEACTIVATE, MemberID: 5, Alarm: pb.AlarmType_CORRUPT})
	require.NoError(t, err)
	_, err = s.KV().Put(ctx, &pb.PutRequest{Key: []byte("k"), Value: []byte("w")})
	require.NoError(t, err)
}

func TestEngineCorruptionRaisesCorruptForThisMember(t *testing.T) {
	s, eng, store := newFaultServer(t)
	ctx := context.Background()
	_, err := s.KV().Put(ctx, &pb.PutRequest{Key: []byte("k"), Value: []byte("v")})
	require.NoError(t, err)
	require.NoError(t, store.Flush(ctx))
	eng.fail(fmt.Errorf("%w: checksum mismatch", storage.ErrCorrupt))
	_, err = s.KV().Range(ctx, &pb.RangeRequest{Key: []byte("k")})
	require.Error(t, err)
	require.Eventually(t, func() bool { return len(corruptAlarms(s)) == 1 }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, []uint64{1}, corruptAlarms(s))
}

// Engine corruption proposes CORRUPT once while it is raised, however
// many reads fail, and raises it again after an operator disarmed it.
func TestEngineCorruptionRaisesCorruptAgainAfterDisarm(t *testing.T) {
	var mu sync.Mutex
	var raised []string
	s, eng, store := newFaultServerWith(t, Deps{OnAlarm: func(by, member uint64, a pb.AlarmType, err error) {
		mu.Lock()
		defer mu.Unlock()
		raised = append(raised, fmt.Sprintf("%d %d %s %v", by, member, a, err))
	}})
	observed := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(raised)
	}
	ctx := context.Background()
	_, err := s.KV().Put(ctx, &pb.PutRequest{Key: []byte("k"), Value: []byte("v")})
	require.NoError(t, err)
	require.NoError(t, store.Flush(ctx))
	eng.fail(fmt.Errorf("%w: checksum mismatch", storage.ErrCorrupt))
	readFails := func(n int) {
		for range n {
			_, err := s.KV().Range(ctx, &pb.RangeRequest{Key: []byte("k")})
			require.Error(t, err)
		}
	}
	once := []string{"1 1 CORRUPT <nil>"}
	readFails(20)
	require.Eventually(t, func() bool { return len(corruptAlarms(s)) == 1 && len(observed()) == 1 }, 5*time.Second, 10*time.Millisecond)
	readFails(20)
	require.Equal(t, once, observed(), "one proposal while CORRUPT is raised")

	_, err = s.Maintenance().Alarm(ctx, &pb.AlarmRequest{Action: pb.AlarmRequest_DEACTIVATE, MemberID: 1, Alarm: pb.AlarmType_CORRUPT})
	require.NoError(t, err)
	require.Empty(t, corruptAlarms(s))
	readFails(20)
	require.Eventually(t, func() bool { return len(corruptAlarms(s)) == 1 && len(observed()) == 2 }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, []uint64{1}, corruptAlarms(s))
	readFails(20)
	require.Equal(t, append(once, once...), observed(), "raised again after the disarm, once")
}

func TestPeriodicCheckRaisesCorruptForTheFollowerThatDiffers(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	_, err := s.KV().Put(ctx, &pb.PutRequest{Key: []byte("k"), Value: []byte("v")})
	require.NoError(t, err)
	h, cr, rev, err := s.store.HashKV(0)
	require.NoError(t, err)
	peers := func(_ context.Context, at int64) []corruption.PeerHash {
		require.Equal(t, rev, at)
		return []corruption.PeerHash{
			{MemberID: 2, Resp: &pb.HashKVResponse{Header: &pb.ResponseHeader{Revision: rev}, Hash: h, CompactRevision: cr}},
			{MemberID: 3, Resp: &pb.HashKVResponse{Header: &pb.ResponseHeader{Revision: rev}, Hash: h + 1, CompactRevision: cr}},
			{MemberID: 4, Err: mvcc.ErrFutureRev},
		}
	}
	chk := s.NewCorruptionChecker(peers)
	require.NoError(t, chk.PeriodicCheck(ctx, 1))
	require.Equal(t, []uint64{3}, corruptAlarms(s))

	err = chk.InitialCheck(ctx, 1)
	require.EqualError(t, err, "1 found data inconsistency with peers")
}

func TestCompactHashCheckNamesTheMinority(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	for i := range 5 {
		_, err := s.KV().Put(ctx, &pb.PutRequest{Key: []byte("k"), Value: []byte{byte(i)}})
		require.NoError(t, err)
	}
	_, err := s.KV().Compact(ctx, &pb.CompactionRequest{Revision: 4, Physical: true})
	require.NoError(t, err)
	hashes := s.store.CompactionHashes()
	require.Len(t, hashes, 1)
	h := hashes[0]
	answer := func(id uint64, hash uint32) corruption.PeerHash {
		return corruption.PeerHash{MemberID: id, Resp: &pb.HashKVResponse{Hash: hash, CompactRevision: h.CompactRevision, HashRevision: h.Revision}}
	}
	// All agree: nothing raised.
	s.NewCorruptionChecker(func(context.Context, int64) []corruption.PeerHash {
		return []corruption.PeerHash{answer(2, h.Hash), answer(3, h.Hash)}
	}).CompactHashCheck(ctx, 1)
	require.Empty(t, corruptAlarms(s))
	// Member 3 differs from the quorum.
	s.NewCorruptionChecker(func(context.Context, int64) []corruption.PeerHash {
		return []corruption.PeerHash{answer(2, h.Hash), answer(3, h.Hash+1)}
	}).CompactHashCheck(ctx, 1)
	require.Equal(t, []uint64{3}, corruptAlarms(s))
}
