package apply

import (
	"errors"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/metastore/metastore/mvcc"
)

// Observer is told of every request this member applies: its
// kind as etcd names it in etcd_server_apply_duration_seconds (Put,
// Range, Txn, LeaseGrant, AuthUserAdd, ...), whether it succeeded (a
// compaction at a revision already compacted counts as a success, as in
// etcd) and how long applying it took. It runs in the apply loop and must
// be quick.
type Observer func(op string, success bool, took time.Duration)

// Observe sets the observer of applied requests; nil removes it. It may be
// called at any time.
func (a *Applier) Observe(fn Observer) {
	if fn == nil {
		a.observe.Store(nil)
		return
	}
	a.observe.Store(&fn)
}

func (a *Applier) observed(r *pb.InternalRaftRequest, res Result, start time.Time) {
	f := a.observe.Load()
	if f == nil {
		return
	}
	(*f)(applyOpName(r), res.Err == nil || errors.Is(res.Err, mvcc.ErrCompacted), time.Since(start))
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
