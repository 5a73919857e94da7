package auth

import (
	"go.etcd.io/etcd/api/v3/authpb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// LeaseKeysFunc returns the keys attached to a lease and whether it
// exists.
type LeaseKeysFunc func(id int64) ([]string, bool)

// The permission checks of requests, in etcd's order. Each runs with the
// store's read lock held once for the whole request, so it sees one auth
// state.

// Authorize checks a request that goes through raft; the handler runs it
// before proposing and the applier again when the entry applies, with the
// identity the entry carries.
func (as *Store) Authorize(ai Info, r *pb.InternalRaftRequest, leaseKeys LeaseKeysFunc) error {
	as.mu.RLock()
	defer as.mu.RUnlock()
	if !as.enabled {
		return nil
	}
	if needsAdmin(r) {
		if err := as.adminLocked(ai); err != nil {
			return err
		}
	}
	switch {
	case r.Put != nil:
		return as.putLocked(ai, r.Put, leaseKeys)
	case r.DeleteRange != nil:
		d := r.DeleteRange
		if err := as.opLocked(ai, d.Key, d.RangeEnd, authpb.Permission_WRITE); err != nil {
			return err
		}
		if d.PrevKv {
			return as.opLocked(ai, d.Key, d.RangeEnd, authpb.Permission_READ)
		}
	case r.Txn != nil:
		return as.txnLocked(ai, r.Txn, leaseKeys)
	case r.LeaseRevoke != nil:
		return as.leasePutsLocked(ai, r.LeaseRevoke.ID, leaseKeys)
	case r.AuthUserGet != nil:
		// A user may read itself.
		if err := as.adminLocked(ai); err != nil && r.AuthUserGet.Name != ai.User {
			return err
		}
	case r.AuthRoleGet != nil:
		// A user may read the roles it has.
		if err := as.adminLocked(ai); err != nil && !as.hasRoleLocked(ai.User, r.AuthRoleGet.Role) {
			return err
		}
	}
	return nil
}

// needsAdmin reports whether only root may make r.
func needsAdmin(r *pb.InternalRaftRequest) bool {
	return r.AuthEnable != nil || r.AuthDisable != nil ||
		r.AuthUserAdd != nil || r.AuthUserDelete != nil || r.AuthUserChangePassword != nil ||
		r.AuthUserGrantRole != nil || r.AuthUserRevokeRole != nil ||
		r.AuthRoleAdd != nil || r.AuthRoleGrantPermission != nil ||
		r.AuthRoleRevokePermission != nil || r.AuthRoleDelete != nil ||
		r.AuthUserList != nil || r.AuthRoleList != nil
}

// opLocked checks one key (rangeEnd empty) or range for reading or
// writing.
func (as *Store) opLocked(ai Info, key, rangeEnd []byte, typ authpb.Permission_Type) error {
	if !as.enabled {
		return nil
	}
	switch {
	case ai.Revision == 0:
		return ErrUserEmpty
	case ai.Revision < as.revision:
		return ErrAuthOldRevision
	}
	g := as.grantsLocked(ai)
	switch {
	case !g.known:
		return ErrPermissionDenied
	case g.root:
		return nil
	case g.perms != nil && g.perms.allows(key, rangeEnd, typ):
		return nil
	}
	return ErrPermissionDenied
}

// adminLocked checks that ai has the root role, its user's or one of its
// groups'.
func (as *Store) adminLocked(ai Info) error {
	if !as.enabled {
		return nil
	}
	if ai.User == "" {
		return ErrUserEmpty
	}
	g := as.grantsLocked(ai)
	if !g.known {
		return ErrUserNotFound
	}
	if !g.root {
		return ErrPermissionDenied
	}
	return nil
}

func (as *Store) hasRoleLocked(user, role string) bool {
	u := as.users[user]
	if u == nil {
		return false
	}
	for _, r := range u.Roles {
		if r == role {
			return true
		}
	}
	return false
}

func (as *Store) putLocked(ai Info, p *pb.PutRequest, leaseKeys LeaseKeysFunc) error {
	if err := as.opLocked(ai, p.Key, nil, authpb.Permission_WRITE); err != nil {
		return err
	}
	if err := as.leasePutsLocked(ai, p.Lease, leaseKeys); err != nil {
		return err
	}
	if p.PrevKv {
		return as.opLocked(ai, p.Key, nil, authpb.Permission_READ)
	}
	return nil
}

// leasePutsLocked checks that ai may write every key attached to lease id
// (nothing for a lease that does not exist), unless it is root.
func (as *Store) leasePutsLocked(ai Info, id int64, leaseKeys LeaseKeysFunc) error {
	if id == 0 || leaseKeys == nil {
		return nil
	}
	keys, ok := leaseKeys(id)
	if !ok || as.adminLocked(ai) == nil {
		return nil
	}
	for _, k := range keys {
		if err := as.opLocked(ai, []byte(k), nil, authpb.Permission_WRITE); err != nil {
			return err
		}
	}
	return nil
}

// txnLocked checks the compares and every op of both branches, nested
// txns included, whichever branch will run.
func (as *Store) txnLocked(ai Info, t *pb.TxnRequest, leaseKeys LeaseKeysFunc) error {
	for _, c := range t.Compare {
		if err := as.opLocked(ai, c.Key, c.RangeEnd, authpb.Permission_READ); err != nil {
			return err
		}
	}
	if err := as.txnOpsLocked(ai, t.Success, leaseKeys); err != nil {
		return err
	}
	return as.txnOpsLocked(ai, t.Failure, leaseKeys)
}

func (as *Store) txnOpsLocked(ai Info, ops []*pb.RequestOp, leaseKeys LeaseKeysFunc) error {
	for _, op := range ops {
		var err error
		switch v := op.GetRequest().(type) {
		case *pb.RequestOp_RequestRange:
			if v.RequestRange != nil {
				err = as.opLocked(ai, v.RequestRange.Key, v.RequestRange.RangeEnd, authpb.Permission_READ)
			}
		case *pb.RequestOp_RequestPut:
			if v.RequestPut != nil {
				err = as.putLocked(ai, v.RequestPut, leaseKeys)
			}
		case *pb.RequestOp_RequestDeleteRange:
			if d := v.RequestDeleteRange; d != nil {
				if d.PrevKv {
					err = as.opLocked(ai, d.Key, d.RangeEnd, authpb.Permission_READ)
				}
				if err == nil {
					err = as.opLocked(ai, d.Key, d.RangeEnd, authpb.Permission_WRITE)
				}
			}
		case *pb.RequestOp_RequestTxn:
			if v.RequestTxn != nil {
				err = as.txnLocked(ai, v.RequestTxn, leaseKeys)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Checks of requests served without raft.

func (as *Store) RangePermitted(ai Info, key, rangeEnd []byte) error {
	as.mu.RLock()
	defer as.mu.RUnlock()
	return as.opLocked(ai, key, rangeEnd, authpb.Permission_READ)
}

func (as *Store) TxnPermitted(ai Info, t *pb.TxnRequest, leaseKeys LeaseKeysFunc) error {
	as.mu.RLock()
	defer as.mu.RUnlock()
	if !as.enabled {
		return nil
	}
	return as.txnLocked(ai, t, leaseKeys)
}

func (as *Store) AdminPermitted(ai Info) error {
	as.mu.RLock()
	defer as.mu.RUnlock()
	return as.adminLocked(ai)
}

// LeaseKeysPermitted checks that ai may read (or write) every key of the
// leases, unless it is root: what LeaseTimeToLive with keys, LeaseLeases
// and keep-alives need.
func (as *Store) LeaseKeysPermitted(ai Info, ids []int64, typ authpb.Permission_Type, leaseKeys LeaseKeysFunc) error {
	as.mu.RLock()
	defer as.mu.RUnlock()
	if !as.enabled || leaseKeys == nil || as.adminLocked(ai) == nil {
		return nil
	}
	for _, id := range ids {
		keys, _ := leaseKeys(id)
		for _, k := range keys {
			if err := as.opLocked(ai, []byte(k), nil, typ); err != nil {
				return err
			}
		}
	}
	return nil
}
