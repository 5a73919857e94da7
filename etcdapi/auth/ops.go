package auth

import (
	"bytes"
	"encoding/base64"
	"sort"

	"go.etcd.io/etcd/api/v3/authpb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap"
)

// The auth requests of the apply state machine, each a change of the
// replicated auth state written through w. They follow etcd's auth store
// rule for rule: which requests bump the revision, which refuse root, and
// in which order errors are found. None of them hashes a password: the
// request handler did that before proposing.

func (as *Store) authEnable(w MetaWriter) error {
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.enabled {
		return nil
	}
	u := as.users[RootUser]
	if u == nil {
		return ErrRootUserNotExist
	}
	if !hasRootRole(u) {
		return ErrRootRoleNotExist
	}
	as.enabled = true
	as.saveEnabledLocked(w)
	as.tokens.enable()
	as.refreshPermsLocked()
	as.lg.Info("enabled authentication")
	return nil
}

func (as *Store) authDisable(w MetaWriter) {
	as.mu.Lock()
	defer as.mu.Unlock()
	if !as.enabled {
		return
	}
	as.enabled = false
	as.saveEnabledLocked(w)
	as.commitRevisionLocked(w)
	as.tokens.disable()
	as.lg.Info("disabled authentication")
}

// decodePassword returns the bcrypt hash a request carries.
func decodePassword(hashed string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(hashed)
	if err != nil {
		return nil, ErrNoPasswordUser
	}
	return b, nil
}

func (as *Store) userAdd(w MetaWriter, r *pb.AuthUserAddRequest) error {
	if r.Name == "" {
		return ErrUserEmpty
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.users[r.Name] != nil {
		return ErrUserAlreadyExist
	}
	opts := r.Options
	if opts == nil {
		opts = &authpb.UserAddOptions{}
	}
	var password []byte
	if !opts.NoPassword {
		var err error
		if password, err = decodePassword(r.HashedPassword); err != nil {
			return err
		}
	}
	as.putUserLocked(w, &authpb.User{Name: []byte(r.Name), Password: password, Options: opts})
	as.commitRevisionLocked(w)
	as.refreshPermsLocked()
	as.lg.Info("added a user", zap.String("user-name", r.Name))
	return nil
}

func (as *Store) userDelete(w MetaWriter, r *pb.AuthUserDeleteRequest) error {
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.enabled && r.Name == RootUser {
		return ErrInvalidAuthMgmt
	}
	if as.users[r.Name] == nil {
		return ErrUserNotFound
	}
	as.deleteUserLocked(w, r.Name)
	as.commitRevisionLocked(w)
	as.refreshPermsLocked()
	as.tokens.invalidateUser(r.Name)
	as.lg.Info("deleted a user", zap.String("user-name", r.Name))
	return nil
}

func (as *Store) userChangePassword(w MetaWriter, r *pb.AuthUserChangePasswordRequest) error {
	as.mu.Lock()
	defer as.mu.Unlock()
	u := as.users[r.Name]
	if u == nil {
		return ErrUserNotFound
	}
	var password []byte
	if u.Options == nil || !u.Options.NoPassword {
		var err error
		if password, err = decodePassword(r.HashedPassword); err != nil {
			return err
		}
	}
	as.putUserLocked(w, &authpb.User{Name: u.Name, Roles: u.Roles, Password: password, Options: u.Options})
	as.commitRevisionLocked(w)
	as.refreshPermsLocked()
	as.tokens.invalidateUser(r.Name)
	as.lg.Info("changed the password of a user", zap.String("user-name", r.Name))
	return nil
}

func (as *Store) userGrantRole(w MetaWriter, r *pb.AuthUserGrantRoleRequest) error {
	as.mu.Lock()
	defer as.mu.Unlock()
	u := as.users[r.User]
	if u == nil {
		return ErrUserNotFound
	}
	if r.Role != rootRole && as.roles[r.Role] == nil {
		return ErrRoleNotFound
	}
	i := sort.SearchStrings(u.Roles, r.Role)
	if i < len(u.Roles) && u.Roles[i] == r.Role {
		return nil // already granted: no change, no new revision
	}
	roles := append(append(append([]string(nil), u.Roles[:i]...), r.Role), u.Roles[i:]...)
	as.putUserLocked(w, &authpb.User{Name: u.Name, Roles: roles, Password: u.Password, Options: u.Options})
	as.commitRevisionLocked(w)
	as.refreshPermsLocked()
	as.lg.Info("granted a role to a user", zap.String("user-name", r.User), zap.String("role-name", r.Role))
	return nil
}

func (as *Store) userRevokeRole(w MetaWriter, r *pb.AuthUserRevokeRoleRequest) error {
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.enabled && r.Name == RootUser && r.Role == rootRole {
		return ErrInvalidAuthMgmt
	}
	u := as.users[r.Name]
	if u == nil {
		return ErrUserNotFound
	}
	roles := without(u.Roles, r.Role)
	if len(roles) == len(u.Roles) {
		return ErrRoleNotGranted
	}
	as.putUserLocked(w, &authpb.User{Name: u.Name, Roles: roles, Password: u.Password, Options: u.Options})
	as.commitRevisionLocked(w)
	as.refreshPermsLocked()
	as.lg.Info("revoked a role from a user", zap.String("user-name", r.Name), zap.String("role-name", r.Role))
	return nil
}

func without(roles []string, role string) []string {
	var out []string
	for _, r := range roles {
		if r != role {
			out = append(out, r)
		}
	}
	return out
}

func (as *Store) roleAdd(w MetaWriter, r *pb.AuthRoleAddRequest) error {
	if r.Name == "" {
		return ErrRoleEmpty
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.roles[r.Name] != nil {
		return ErrRoleAlreadyExist
	}
	as.putRoleLocked(w, &authpb.Role{Name: []byte(r.Name)})
	as.commitRevisionLocked(w)
	as.lg.Info("created a role", zap.String("role-name", r.Name))
	return nil
}

func (as *Store) roleDelete(w MetaWriter, r *pb.AuthRoleDeleteRequest) error {
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.enabled && r.Role == rootRole {
		return ErrInvalidAuthMgmt
	}
	if as.roles[r.Role] == nil {
		return ErrRoleNotFound
	}
	as.deleteRoleLocked(w, r.Role)
	for _, name := range sortedNames(as.users) {
		u := as.users[name]
		roles := without(u.Roles, r.Role)
		if len(roles) != len(u.Roles) {
			as.putUserLocked(w, &authpb.User{Name: u.Name, Roles: roles, Password: u.Password, Options: u.Options})
		}
	}
	as.commitRevisionLocked(w)
	as.refreshPermsLocked()
	as.lg.Info("deleted a role", zap.String("role-name", r.Role))
	return nil
}

func (as *Store) roleGrantPermission(w MetaWriter, r *pb.AuthRoleGrantPermissionRequest) error {
	if r.Perm == nil {
		return ErrPermissionNotGiven
	}
	if !validPermRange(r.Perm.Key, r.Perm.RangeEnd) {
		return ErrInvalidAuthMgmt
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	role := as.roles[r.Name]
	if role == nil {
		return ErrRoleNotFound
	}
	// As etcd: only the first permission at or after the key is compared,
	// so a permission is updated in place only if it is that one.
	perms := append([]*authpb.Permission(nil), role.KeyPermission...)
	i := sort.Search(len(perms), func(i int) bool { return bytes.Compare(perms[i].Key, r.Perm.Key) >= 0 })
	if i < len(perms) && bytes.Equal(perms[i].Key, r.Perm.Key) && bytes.Equal(perms[i].RangeEnd, r.Perm.RangeEnd) {
		perms[i] = &authpb.Permission{Key: perms[i].Key, RangeEnd: perms[i].RangeEnd, PermType: r.Perm.PermType}
	} else {
		perms = append(perms, &authpb.Permission{Key: r.Perm.Key, RangeEnd: r.Perm.RangeEnd, PermType: r.Perm.PermType})
		sort.Sort(permsByKey(perms))
	}
	as.putRoleLocked(w, &authpb.Role{Name: role.Name, KeyPermission: perms})
	as.commitRevisionLocked(w)
	as.refreshPermsLocked()
	as.lg.Info("granted a permission to a role", zap.String("role-name", r.Name),
		zap.ByteString("key", r.Perm.Key), zap.ByteString("range-end", r.Perm.RangeEnd))
	return nil
}

func (as *Store) roleRevokePermission(w MetaWriter, r *pb.AuthRoleRevokePermissionRequest) error {
	as.mu.Lock()
	defer as.mu.Unlock()
	role := as.roles[r.Role]
	if role == nil {
		return ErrRoleNotFound
	}
	var perms []*authpb.Permission
	for _, p := range role.KeyPermission {
		if !bytes.Equal(p.Key, r.Key) || !bytes.Equal(p.RangeEnd, r.RangeEnd) {
			perms = append(perms, p)
		}
	}
	if len(perms) == len(role.KeyPermission) {
		return ErrPermissionNotGranted
	}
	as.putRoleLocked(w, &authpb.Role{Name: role.Name, KeyPermission: perms})
	as.commitRevisionLocked(w)
	as.refreshPermsLocked()
	as.lg.Info("revoked a permission from a role", zap.String("role-name", r.Role),
		zap.ByteString("key", r.Key), zap.ByteString("range-end", r.RangeEnd))
	return nil
}

// permsByKey sorts as etcd's permSlice does (sort.Sort, not stable).
type permsByKey []*authpb.Permission

func (p permsByKey) Len() int           { return len(p) }
func (p permsByKey) Less(i, j int) bool { return bytes.Compare(p[i].Key, p[j].Key) < 0 }
func (p permsByKey) Swap(i, j int)      { p[i], p[j] = p[j], p[i] }

// Reads, answered from the applied state.

var rootPerm = &authpb.Permission{PermType: authpb.Permission_READWRITE, Key: []byte{}, RangeEnd: []byte{0}}

func (as *Store) userGet(name string) (*pb.AuthUserGetResponse, error) {
	as.mu.RLock()
	defer as.mu.RUnlock()
	u := as.users[name]
	if u == nil {
		return nil, ErrUserNotFound
	}
	return &pb.AuthUserGetResponse{Roles: append([]string(nil), u.Roles...)}, nil
}

func (as *Store) roleGet(name string) (*pb.AuthRoleGetResponse, error) {
	as.mu.RLock()
	defer as.mu.RUnlock()
	role := as.roles[name]
	if role == nil {
		return nil, ErrRoleNotFound
	}
	if name == rootRole {
		return &pb.AuthRoleGetResponse{Perm: []*authpb.Permission{rootPerm}}, nil
	}
	return &pb.AuthRoleGetResponse{Perm: append([]*authpb.Permission(nil), role.KeyPermission...)}, nil
}

func (as *Store) userList() []string {
	as.mu.RLock()
	defer as.mu.RUnlock()
	return sortedNames(as.users)
}

func (as *Store) roleList() []string {
	as.mu.RLock()
	defer as.mu.RUnlock()
	return sortedNames(as.roles)
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
