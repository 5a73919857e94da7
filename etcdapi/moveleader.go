package etcdapi

import (
	"context"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// LeaderTransferer is the raft node as MoveLeader needs it; the host's
// adapter implements it.
type LeaderTransferer interface {
	// TransferLeadership asks raft to hand leadership to transferee and
	// returns once raft has the request.
	TransferLeadership(transferee uint64) error
}

// errLeaderTransferTimeout is etcd's ErrTimeoutLeaderTransfer, which etcd
// sends with code Unknown.
var errLeaderTransferTimeout = status.Error(codes.Unknown, "etcdserver: request timed out, leader transfer took too long")

// leaderTransferPoll is how often MoveLeader checks for the new leader.
const leaderTransferPoll = 10 * time.Millisecond

// MoveLeader hands leadership to the voting member r.TargetID and returns
// once it leads, as etcd: only the leader accepts the request
// (ErrGRPCNotLeader), and the target must be a voting member
// (ErrGRPCBadLeaderTransferee). It waits at most until ctx ends or the
// request timeout passes.
func (m *MaintenanceServer) MoveLeader(ctx context.Context, r *pb.MoveLeaderRequest) (*pb.MoveLeaderResponse, error) {
	s := m.s
	self := s.raft.MemberID()
	if s.raft.Status().Leader != self {
		return nil, rpctypes.ErrGRPCNotLeader
	}
	target := s.members.Get(r.GetTargetID())
	if target == nil || target.IsLearner {
		return nil, rpctypes.ErrGRPCBadLeaderTransferee
	}
	lt, ok := s.raft.(LeaderTransferer)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "etcdapi: raft cannot transfer leadership")
	}
	start := time.Now()
	s.lg.Info("leadership transfer starting", zap.Stringer("transferee-member-id", types.ID(target.ID)))
	cctx, ccancel := context.WithTimeout(ctx, time.Second)
	_ = s.checkpointLeases(cctx, "leader transfer") // best effort: the TTLs are safe either way
	ccancel()
	if err := lt.TransferLeadership(target.ID); err != nil {
		return nil, toGRPCError(err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	tick := time.NewTicker(leaderTransferPoll)
	defer tick.Stop()
	for s.raft.Status().Leader != target.ID {
		select {
		case <-ctx.Done():
			return nil, errLeaderTransferTimeout
		case <-tick.C:
		}
	}
	s.lg.Info("leadership transfer finished", zap.Stringer("transferee-member-id", types.ID(target.ID)),
		zap.Duration("took", time.Since(start)))
	resp := &pb.MoveLeaderResponse{Header: &pb.ResponseHeader{}}
	s.fillHeader(resp.Header)
	return resp, nil
}
