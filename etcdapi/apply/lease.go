package apply

import (
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/metastore/metastore/etcdapi/lease"
)

// The lease requests of the apply state machine. Each runs as one mvcc
// write, so the lease namespace changes in the batch of its raft entry.

func (a *Applier) applyLeaseGrant(index uint64, r *pb.LeaseGrantRequest) Result {
	// A leader counts a lease's time from its grant. Its lessor becomes
	// primary when the lease loop or a lease call notices the leadership,
	// which may come after a grant proposed through a follower is applied:
	// the lease would then get the promotion's extension on top of its TTL.
	// etcd promotes on applying the term's first entry, before any grant of
	// the term; noticing here has the same effect.
	if a.leaseRole != nil {
		a.leaseRole()
	}
	l, err := a.leases.Grant(r.ID, r.TTL)
	if err != nil {
		a.store.SetConsistentIndex(index)
		return Result{Err: err}
	}
	tw := a.store.Write(index)
	lease.Persist(tw, l)
	resp := &pb.LeaseGrantResponse{Header: &pb.ResponseHeader{Revision: tw.Rev()}, ID: l.ID(), TTL: l.TTL()}
	tw.End()
	return Result{Resp: resp}
}

// applyLeaseRevoke deletes the lease's keys, in key order, all at one
// revision, then the lease.
func (a *Applier) applyLeaseRevoke(index uint64, r *pb.LeaseRevokeRequest) Result {
	keys, ok := a.leases.KeysOf(r.ID)
	if !ok {
		a.store.SetConsistentIndex(index)
		return Result{Err: lease.ErrNotFound}
	}
	tw := a.store.Write(index)
	for _, k := range keys {
		tw.DeleteRange([]byte(k), nil)
	}
	lease.DeletePersisted(tw, r.ID)
	rev := tw.Rev()
	a.leases.Track(tw.End())
	a.leases.Remove(r.ID)
	return Result{Resp: &pb.LeaseRevokeResponse{Header: &pb.ResponseHeader{Revision: rev}}}
}

// applyLeaseCheckpoint records remaining TTLs; checkpoints of leases that
// are gone are skipped.
func (a *Applier) applyLeaseCheckpoint(index uint64, r *pb.LeaseCheckpointRequest) Result {
	tw := a.store.Write(index)
	for _, cp := range r.Checkpoints {
		if l := a.leases.Checkpoint(cp.ID, cp.Remaining_TTL); l != nil {
			lease.Persist(tw, l)
		}
	}
	rev := tw.Rev()
	tw.End()
	return Result{Resp: &pb.LeaseCheckpointResponse{Header: &pb.ResponseHeader{Revision: rev}}}
}
