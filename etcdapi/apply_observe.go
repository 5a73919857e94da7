package etcdapi

import (
	"errors"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/metastore/metastore/mvcc"
)

// RequestApplyObserver is told of every request this member applies: its
// kind as etcd names it in etcd_server_apply_duration_seconds (Put,
// Range, Txn, LeaseGrant, AuthUserAdd, ...), whether it succeeded (a
// compaction at a revision already compacted counts as a success, as in
// etcd) and how long applying it took. It runs in the apply loop and must
// be quick.
type RequestApplyObserver func(op string, success bool, took time.Duration)

// ObserveRequestApply sets the observer of applied requests; nil removes
// it. It may be called at any time.
func (s *Server) ObserveRequestApply(fn RequestApplyObserver) {
	if fn == nil {
		s.applier.observe.Store(nil)
		return
	}
	s.applier.observe.Store(&fn)
}

// AuthRevision is the auth store's revision, as this member has applied it.
func (s *Server) AuthRevision() uint64 {
	_, rev := s.auth.Status()
	return rev
}

func (a *applier) observed(r *pb.InternalRaftRequest, res applyResult, start time.Time) {
	f := a.observe.Load()
	if f == nil {
		return
	}
	(*f)(applyOpName(r), res.err == nil || errors.Is(res.err, mvcc.ErrCompacted), time.Since(start))
}

// applyOpName names the request r carries as etcd's apply metric does.
func applyOpName(r *pb.InternalRaftRequest) string {
	switch {
	case r.ClusterVersionSet != nil:
		return "ClusterVersionSet"
	case r.ClusterMemberAttrSet != nil:
		return "ClusterMemberAttrSet"
	case r.DowngradeInfoSet != nil:
		return "DowngradeInfoSet"
	case r.Range != nil:
		return "Range"
	case r.Put != nil:
		return "Put"
	case r.DeleteRange != nil:
		return "DeleteRange"
	case r.Txn != nil:
		return "Txn"
	case r.Compaction != nil:
		return "Compaction"
	case r.LeaseGrant != nil:
		return "LeaseGrant"
	case r.LeaseRevoke != nil:
		return "LeaseRevoke"
	case r.LeaseCheckpoint != nil:
		return "LeaseCheckpoint"
	case r.Alarm != nil:
		return "Alarm"
	case r.Authenticate != nil:
		return "Authenticate"
	case r.AuthEnable != nil:
		return "AuthEnable"
	case r.AuthDisable != nil:
		return "AuthDisable"
	case r.AuthStatus != nil:
		return "AuthStatus"
	case r.AuthUserAdd != nil:
		return "AuthUserAdd"
	case r.AuthUserDelete != nil:
		return "AuthUserDelete"
	case r.AuthUserChangePassword != nil:
		return "AuthUserChangePassword"
	case r.AuthUserGrantRole != nil:
		return "AuthUserGrantRole"
	case r.AuthUserGet != nil:
		return "AuthUserGet"
	case r.AuthUserRevokeRole != nil:
		return "AuthUserRevokeRole"
	case r.AuthRoleAdd != nil:
		return "AuthRoleAdd"
	case r.AuthRoleGrantPermission != nil:
		return "AuthRoleGrantPermission"
	case r.AuthRoleGet != nil:
		return "AuthRoleGet"
	case r.AuthRoleRevokePermission != nil:
		return "AuthRoleRevokePermission"
	case r.AuthRoleDelete != nil:
		return "AuthRoleDelete"
	case r.AuthUserList != nil:
		return "AuthUserList"
	case r.AuthRoleList != nil:
		return "AuthRoleList"
	}
	return "unknown"
}
