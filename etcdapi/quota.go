package etcdapi

import (
	"context"
	"errors"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/metastore/metastore/pluginapi/quota"
)

// ErrNoSpace is returned for a write that would grow the store while the
// cluster is out of space (the NOSPACE alarm is active, or the quota
// policy has just raised it).
var ErrNoSpace = errors.New("etcdapi: database space exceeded")

// Write costs as etcd's backend quota counts them: a put stores its key and
// value and about this much of index and page overhead; a lease this much.
const (
	kvOverhead    = 256
	leaseOverhead = 64
)

// usageRefresh is how old the measured store size may grow before a check
// refreshes it in the background; a check that would refuse a write always
// measures afresh first.
const usageRefresh = time.Second

// quotaGate admits or refuses writes before they are proposed. It asks the
// quota policy, raises the alarms the policy asks for, and refuses writes
// that grow the store while NOSPACE is active. Measuring the engine is
// costly (a bbolt Stats walks every page), so the gate keeps the last size
// measured plus the cost of the writes it admitted since.
type quotaGate struct {
	lg       *zap.Logger
	policy   quota.Policy
	fallback quota.Policy // asked when policy cannot answer; may be nil
	measure  func() quota.Usage

	// prefixes keeps the usage of the prefixes the policy declared; nil
	// when it declared none.
	prefixes QuotaUsage

	mu         sync.Mutex
	usage      quota.Usage
	measuredAt time.Time
	admitted   int64 // cost admitted since measuredAt
	refreshing bool
}

// SetQuota installs the quota policy and the built-in fallback asked when
// the policy fails (nil for none). Without a policy every write is
// admitted, except those that grow the store while NOSPACE is active. Call
// it before serving.
func (s *Server) SetQuota(policy, fallback quota.Policy) {
	s.maint.quota = &quotaGate{
		lg: s.lg.Named("quota"), policy: policy, fallback: fallback,
		measure: func() quota.Usage {
			size, inUse := s.dbSize()
			return quota.Usage{BackendBytes: size, BackendBytesInUse: inUse}
		},
	}
}

// QuotaUsage keeps, from the applied store, the usage of the key prefixes
// a quota policy declared (see quota.Configurer), for the checks of writes
// under them.
type QuotaUsage interface {
	// Covers reports whether key falls under a declared prefix.
	Covers(key []byte) bool
	// Usage returns, for each declared prefix that a put of branches falls
	// under, its usage as of revision rev (waiting a little for the usage
	// to reach it) and what the write adds: per prefix the larger of the
	// branches, each of which is a list of puts done in order.
	Usage(ctx context.Context, rev int64, branches [][]quota.Put) []quota.PrefixUsage
}

// SetQuotaUsage installs the usage of the declared prefixes, passed to the
// policy in every check of a write under one of them. Call it after
// SetQuota and before serving.
func (s *Server) SetQuotaUsage(u QuotaUsage) {
	if s.maint.quota != nil {
		s.maint.quota.prefixes = u
	}
}

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
	req, grows := checkRequestOf(r)
	if !grows {
		return nil
	}
	if s.maint.alarms.active(pb.AlarmType_NOSPACE) {
		return ErrNoSpace
	}
	g := s.maint.quota
	if g == nil {
		return nil
	}
	if err := s.addPrefixUsage(ctx, g, r, &req); err != nil {
		return err
	}
	resp := g.check(ctx, req, false)
	if !resp.Admit {
		resp = g.check(ctx, req, true) // decide a refusal on a fresh size
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
func (s *Server) addPrefixUsage(ctx context.Context, g *quotaGate, r *pb.InternalRaftRequest, req *quota.CheckRequest) error {
	if g.prefixes == nil {
		return nil
	}
	covered := false
	for _, p := range req.Puts {
		if g.prefixes.Covers(p.Key) {
			covered = true
			break
		}
	}
	if !covered {
		return nil
	}
	if err := s.linearizableBarrier(ctx); err != nil {
		return err
	}
	req.Prefixes = g.prefixes.Usage(ctx, s.store.Rev(), writeBranches(r))
	return nil
}

// writeBranches lists the puts of r by the branch they run in: one branch
// for a put, two for a txn. A nested txn's puts count in the branch that
// holds it, both of its own branches together, an estimate from above.
func writeBranches(r *pb.InternalRaftRequest) [][]quota.Put {
	switch {
	case r.Put != nil:
		return [][]quota.Put{{putOf(r.Put)}}
	case r.Txn != nil:
		return [][]quota.Put{branchPuts(r.Txn.Success, nil), branchPuts(r.Txn.Failure, nil)}
	}
	return nil
}

func branchPuts(ops []*pb.RequestOp, out []quota.Put) []quota.Put {
	for _, op := range ops {
		if p := op.GetRequestPut(); p != nil {
			out = append(out, putOf(p))
		} else if n := op.GetRequestTxn(); n != nil {
			out = txnPuts(n, out)
		}
	}
	return out
}

// raiseNoSpace proposes this member's NOSPACE alarm, as etcd does when a
// write finds the quota exhausted. The refused write is answered either way.
func (s *Server) raiseNoSpace(ctx context.Context, reason string) {
	s.lg.Warn("quota exhausted; raising NOSPACE", zap.String("reason", reason))
	if err := s.raiseAlarm(ctx, s.raft.MemberID(), pb.AlarmType_NOSPACE); err != nil {
		s.lg.Warn("raising NOSPACE failed", zap.Error(err))
	}
}

// check asks the policy, falling back to the built-in one when it fails.
// With fresh set it measures the store first.
func (g *quotaGate) check(ctx context.Context, req quota.CheckRequest, fresh bool) quota.CheckResponse {
	if g.policy == nil {
		return quota.CheckResponse{Admit: true} // no quota (--quota-backend-bytes < 0)
	}
	req.Usage = g.currentUsage(fresh)
	resp, err := g.policy.Check(ctx, req)
	if err != nil && g.fallback != nil {
		g.lg.Warn("quota policy failed; using the built-in check", zap.Error(err))
		resp, err = g.fallback.Check(ctx, req)
	}
	if err != nil {
		g.lg.Warn("no quota policy could decide; admitting the write", zap.Error(err))
		return quota.CheckResponse{Admit: true}
	}
	if resp.Admit {
		g.mu.Lock()
		g.admitted += req.Cost
		g.mu.Unlock()
	}
	return resp
}

// currentUsage returns the last measured size plus what was admitted since,
// measuring now when fresh is set or nothing was measured yet, and in the
// background when the measure is old.
func (g *quotaGate) currentUsage(fresh bool) quota.Usage {
	g.mu.Lock()
	stale := time.Since(g.measuredAt) > usageRefresh
	if fresh || g.measuredAt.IsZero() {
		g.mu.Unlock()
		g.refresh()
		g.mu.Lock()
	} else if stale && !g.refreshing {
		g.refreshing = true
		go g.refresh()
	}
	defer g.mu.Unlock()
	u := g.usage
	u.BackendBytes += g.admitted
	u.BackendBytesInUse += g.admitted
	return u
}

func (g *quotaGate) refresh() {
	at := time.Now()
	u := g.measure()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refreshing = false
	if at.Before(g.measuredAt) {
		return
	}
	g.usage, g.measuredAt, g.admitted = u, at, 0
}

// checkRequestOf describes r for a policy; grows is false for requests
// that cannot grow the store (deletes, compactions, txns without puts).
func checkRequestOf(r *pb.InternalRaftRequest) (req quota.CheckRequest, grows bool) {
	switch {
	case r.Put != nil:
		req = quota.CheckRequest{Kind: quota.WritePut, Puts: []quota.Put{putOf(r.Put)}, Cost: costPut(r.Put)}
	case r.Txn != nil:
		req = quota.CheckRequest{Kind: quota.WriteTxn, Cost: costTxn(r.Txn)}
		req.Puts = txnPuts(r.Txn, nil)
	case r.LeaseGrant != nil:
		return quota.CheckRequest{Kind: quota.WriteLeaseGrant, Cost: leaseOverhead}, true
	default:
		return req, false
	}
	return req, req.Cost > 0
}

func putOf(p *pb.PutRequest) quota.Put {
	return quota.Put{Key: p.Key, ValueSize: len(p.Value)}
}

func costPut(p *pb.PutRequest) int64 { return int64(kvOverhead + len(p.Key) + len(p.Value)) }

// costTxn is the cost of the costlier branch, nested txns included.
func costTxn(t *pb.TxnRequest) int64 {
	branchCost := func(ops []*pb.RequestOp) (c int64) {
		for _, op := range ops {
			if p := op.GetRequestPut(); p != nil {
				c += costPut(p)
			} else if n := op.GetRequestTxn(); n != nil {
				c += costTxn(n)
			}
		}
		return c
	}
	return max(branchCost(t.Success), branchCost(t.Failure))
}

// txnPuts appends every put of either branch of t, nested txns included.
func txnPuts(t *pb.TxnRequest, out []quota.Put) []quota.Put {
	return branchPuts(t.Failure, branchPuts(t.Success, out))
}
