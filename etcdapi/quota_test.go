package etcdapi

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/metastore/metastore/etcdapi/alarm"
	"github.com/metastore/metastore/pluginapi/quota"
	"github.com/metastore/metastore/plugins/quota/backendbytes"
)

// failingPolicy cannot decide, as a dead plugin.
type failingPolicy struct{}

func (failingPolicy) Info(context.Context) (quota.InfoResponse, error) {
	return quota.InfoResponse{}, quota.ErrUnavailable
}

func (failingPolicy) Check(context.Context, quota.CheckRequest) (quota.CheckResponse, error) {
	return quota.CheckResponse{}, quota.ErrUnavailable
}

func TestQuotaRaisesNoSpaceAndRefusesGrowth(t *testing.T) {
	var size atomic.Int64
	s := newTestServerWith(t, Deps{
		DBSize: func() (int64, int64) { return size.Load(), size.Load() },
		Quota:  failingPolicy{}, QuotaFallback: backendbytes.New(10000),
	})
	kv, mt := s.KV(), s.Maintenance()
	ctx := context.Background()

	_, err := kv.Put(ctx, &pb.PutRequest{Key: []byte("a"), Value: []byte("1")})
	require.NoError(t, err)
	size.Store(20000) // the engine grew past the quota
	// The gate counts what it admits on top of the last measure; once
	// that or a refreshed measure passes the quota, a put is refused and
	// the refusal is decided on a fresh measure.
	require.Eventually(t, func() bool {
		_, err := kv.Put(ctx, &pb.PutRequest{Key: []byte("b"), Value: []byte("2")})
		return errors.Is(err, rpctypes.ErrGRPCNoSpace)
	}, 5*time.Second, 10*time.Millisecond)
	alarms, err := mt.Alarm(ctx, &pb.AlarmRequest{Action: pb.AlarmRequest_GET})
	require.NoError(t, err)
	require.Equal(t, []string{"1/NOSPACE"}, alarmStrings(alarms.Alarms))

	size.Store(0) // space freed; the alarm stays until disarmed
	tests := []struct {
		name string
		req  *pb.InternalRaftRequest
		err  error
	}{
		{"put", &pb.InternalRaftRequest{Put: &pb.PutRequest{Key: []byte("c")}}, ErrNoSpace},
		{"txn with a put", &pb.InternalRaftRequest{Txn: &pb.TxnRequest{Failure: []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: []byte("c")}}}}}}, ErrNoSpace},
		{"lease grant", &pb.InternalRaftRequest{LeaseGrant: &pb.LeaseGrantRequest{TTL: 10}}, ErrNoSpace},
		{"delete", &pb.InternalRaftRequest{DeleteRange: &pb.DeleteRangeRequest{Key: []byte("a")}}, nil},
		{"txn with a delete", &pb.InternalRaftRequest{Txn: &pb.TxnRequest{Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: &pb.DeleteRangeRequest{Key: []byte("a")}}}}}}, nil},
		{"compaction", &pb.InternalRaftRequest{Compaction: &pb.CompactionRequest{Revision: 1}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.admit(ctx, tt.req)
			if tt.err == nil {
				require.NoError(t, err)
			} else {
				require.True(t, errors.Is(err, tt.err), "got %v", err)
			}
		})
	}

	disarm, err := mt.Alarm(ctx, &pb.AlarmRequest{Action: pb.AlarmRequest_DEACTIVATE, MemberID: 1, Alarm: pb.AlarmType_NOSPACE})
	require.NoError(t, err)
	require.Len(t, disarm.Alarms, 1)
	_, err = kv.Put(ctx, &pb.PutRequest{Key: []byte("c"), Value: []byte("3")})
	require.NoError(t, err)
	st, err := mt.Status(ctx, &pb.StatusRequest{})
	require.NoError(t, err)
	require.Empty(t, st.Errors)
}

func TestAlarmActions(t *testing.T) {
	s := newTestServer(t)
	mt := s.Maintenance()
	ctx := context.Background()
	act := func(action pb.AlarmRequest_AlarmAction, member uint64, typ pb.AlarmType) []*pb.AlarmMember {
		resp, err := mt.Alarm(ctx, &pb.AlarmRequest{Action: action, MemberID: member, Alarm: typ})
		require.NoError(t, err)
		return resp.Alarms
	}
	require.Empty(t, act(pb.AlarmRequest_ACTIVATE, 1, pb.AlarmType_NONE))
	require.Len(t, act(pb.AlarmRequest_ACTIVATE, 2, pb.AlarmType_CORRUPT), 1)
	require.Len(t, act(pb.AlarmRequest_ACTIVATE, 1, pb.AlarmType_NOSPACE), 1)
	require.Len(t, act(pb.AlarmRequest_ACTIVATE, 1, pb.AlarmType_NOSPACE), 1, "raising twice answers the alarm")
	require.Equal(t, []string{"1/NOSPACE", "2/CORRUPT"}, alarmStrings(act(pb.AlarmRequest_GET, 0, pb.AlarmType_NONE)))
	require.Len(t, act(pb.AlarmRequest_GET, 0, pb.AlarmType_CORRUPT), 1)
	require.Empty(t, act(pb.AlarmRequest_DEACTIVATE, 3, pb.AlarmType_NOSPACE))
	require.Len(t, act(pb.AlarmRequest_DEACTIVATE, 2, pb.AlarmType_CORRUPT), 1)

	// The alarms are persisted: a new alarm store loads them.
	require.NoError(t, s.store.Flush(ctx))
	loaded := alarm.NewStore()
	require.NoError(t, loaded.Load(ctx, s.store))
	require.Equal(t, []string{"1/NOSPACE"}, alarmStrings(loaded.List(pb.AlarmType_NONE)))
}

func alarmStrings(ms []*pb.AlarmMember) []string {
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%d/%s", m.MemberID, m.Alarm))
	}
	return out
}
