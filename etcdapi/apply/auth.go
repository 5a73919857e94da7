package apply

import (
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/metastore/metastore/etcdapi/auth"
)

// authorizeEntry checks a committed request with the identity and auth
// revision its proposer recorded, so that a permission revoked between
// proposal and apply is honoured. A refused entry changes nothing but the
// consistent index.
func (a *Applier) authorizeEntry(index uint64, r *pb.InternalRaftRequest) (Result, bool) {
	h := r.GetHeader()
	ai := auth.Info{User: h.GetUsername(), Groups: auth.HeaderGroups(h), Revision: h.GetAuthRevision()}
	if err := a.auth.Authorize(ai, r, a.leaseKeys()); err != nil {
		a.store.SetConsistentIndex(index)
		return Result{Err: err}, false
	}
	return Result{}, true
}

// applyAuth runs an Auth request as one mvcc write, so the auth namespace
// changes in the batch of its raft entry.
func (a *Applier) applyAuth(index uint64, r *pb.InternalRaftRequest) Result {
	tw := a.store.Write(index)
	resp, err := a.auth.Apply(tw, index, r)
	tw.End()
	return Result{Resp: resp, Err: err}
}

func (a *Applier) leaseKeys() auth.LeaseKeysFunc { return a.leases.KeysOf }
