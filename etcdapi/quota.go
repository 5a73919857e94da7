package etcdapi

import (
	"context"
	"errors"
	"slices"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/metastore/metastore/etcdapi/admission"
	"github.com/metastore/metastore/pluginapi/quota"
)

// ErrNoSpace is returned for a write that would grow the store while the
// cluster is out of space (the NOSPACE alarm is active, or the quota
// policy has just raised it).
var ErrNoSpace = errors.New("etcdapi: database space exceeded")

// QuotaUsage keeps the usage of the key prefixes a quota policy declared.
type QuotaUsage = admission.PrefixUsage

// admit decides whether r may be proposed: nil, ErrNoSpace, or an error
// naming the limit a policy refused it for.
//
// A policy's refusal that raises no alarm (a tenant's prefix over its
// limit) is ResourceExhausted, not etcd's NOSPACE: etcd has no per-prefix
// quota, and NOSPACE would tell clients and operators that the whole
// cluster is out of space and needs an alarm disarmed. ResourceExhausted
// is gRPC's code for "a per-user quota ran out" (FailedPrecondition would
// invite a retry once the system state is fixed, which is not how a quota
// clears), and clientv3 does not retry it. The message carries the
// policy's reason, which names the prefix and the limit.
func (s *Server) admit(ctx context.Context, r *pb.InternalRaftRequest) error {
	req, grows := admission.Request(r)
	if !grows {
		return nil
	}
	if s.maint.alarms.Active(pb.AlarmType_NOSPACE) {
		return ErrNoSpace
	}
	g := s.maint.quota
	if g == nil {
		return nil
	}
	if err := s.addPrefixUsage(ctx, g, r, &req); err != nil {
		return err
	}
	resp := g.Check(ctx, req, false)
	if !resp.Admit {
		resp = g.Check(ctx, req, true) // decide a refusal on a fresh size
	}
	switch {
	case resp.Admit:
		return nil
	case resp.Alarm == quota.AlarmNoSpace:
		s.raiseNoSpace(ctx, resp.Reason)
		return ErrNoSpace
	default:
		return status.Error(codes.ResourceExhausted, "etcdserver: quota exceeded: "+resp.Reason)
	}
}

// addPrefixUsage fills req.Prefixes when a put of r falls under a
// declared prefix. The usage is this member's applied state after a
// linearizable barrier, so that a write checked on a follower counts every
// write committed before it arrived, through whichever member.
func (s *Server) addPrefixUsage(ctx context.Context, g *admission.Gate, r *pb.InternalRaftRequest, req *quota.CheckRequest) error {
	prefixes := g.PrefixUsage()
	if prefixes == nil || !slices.ContainsFunc(req.Puts, func(p quota.Put) bool { return prefixes.Covers(p.Key) }) {
		return nil
	}
	if err := s.linearizableBarrier(ctx); err != nil {
		return err
	}
	req.Prefixes = prefixes.Usage(ctx, s.store.Rev(), admission.WriteBranches(r))
	return nil
}

// raiseNoSpace proposes this member's NOSPACE alarm, as etcd does when a
// write finds the quota exhausted. The refused write is answered either way.
func (s *Server) raiseNoSpace(ctx context.Context, reason string) {
	s.lg.Warn("quota exhausted; raising NOSPACE", zap.String("reason", reason))
	if err := s.raiseAlarm(ctx, s.raft.MemberID(), pb.AlarmType_NOSPACE); err != nil {
		s.lg.Warn("raising NOSPACE failed", zap.Error(err))
	}
}
