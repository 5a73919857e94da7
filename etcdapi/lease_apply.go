package etcdapi

import (
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// The lease requests of the apply state machine. Each runs as one mvcc
// write, so the lease namespace changes in the batch of its raft entry.

func (a *applier) applyLeaseGrant(index uint64, r *pb.LeaseGrantRequest) applyResult {
	// A leader counts a lease's time from its grant. Its lessor becomes
	// primary when the lease loop or a lease call notices the leadership,
	// which may come after a grant proposed through a follower is applied:
	// the lease would then get the promotion's extension on top of its TTL.
	// etcd promotes on applying the term's first entry, before any grant of
	// the term; noticing here has the same effect.
	if a.leaseRole != nil {
		a.leaseRole()
	}
	l, err := a.leases.grant(r.ID, r.TTL)
	if err != nil {
		a.store.SetConsistentIndex(index)
		return applyResult{err: err}
	}
	tw := a.store.Write(index)
	persistLease(tw, l)
	resp := &pb.LeaseGrantResponse{Header: &pb.ResponseHeader{Revision: tw.Rev()}, ID: l.id, TTL: l.ttl}
	tw.End()
	return applyResult{resp: resp}
}

// applyLeaseRevoke deletes the lease's keys, in key order, all at one
// revision, then the lease.
func (a *applier) applyLeaseRevoke(index uint64, r *pb.LeaseRevokeRequest) applyResult {
	keys, ok := a.leases.keysOf(r.ID)
	if !ok {
		a.store.SetConsistentIndex(index)
		return applyResult{err: ErrLeaseNotFound}
	}
	tw := a.store.Write(index)
	for _, k := range keys {
		tw.DeleteRange([]byte(k), nil)
	}
	tw.DeleteMeta(LeaseNamespace, leaseKey(r.ID))
	rev := tw.Rev()
	a.leases.track(tw.End())
	a.leases.remove(r.ID)
	return applyResult{resp: &pb.LeaseRevokeResponse{Header: &pb.ResponseHeader{Revision: rev}}}
}

// applyLeaseCheckpoint records remaining TTLs; checkpoints of leases that
// are gone are skipped.
func (a *applier) applyLeaseCheckpoint(index uint64, r *pb.LeaseCheckpointRequest) applyResult {
	tw := a.store.Write(index)
	for _, cp := range r.Checkpoints {
		if l := a.leases.checkpoint(cp.ID, cp.Remaining_TTL); l != nil {
			persistLease(tw, l)
		}
	}
	rev := tw.Rev()
	tw.End()
	return applyResult{resp: &pb.LeaseCheckpointResponse{Header: &pb.ResponseHeader{Revision: rev}}}
}
