package auth

import (
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/protobuf/proto"
)

// IsRequest reports whether r is one of the Auth service's requests.
func IsRequest(r *pb.InternalRaftRequest) bool {
	return r.Authenticate != nil || r.AuthEnable != nil || r.AuthDisable != nil || r.AuthStatus != nil ||
		r.AuthUserAdd != nil || r.AuthUserDelete != nil || r.AuthUserChangePassword != nil ||
		r.AuthUserGrantRole != nil || r.AuthUserGet != nil || r.AuthUserRevokeRole != nil ||
		r.AuthRoleAdd != nil || r.AuthRoleGrantPermission != nil || r.AuthRoleGet != nil ||
		r.AuthRoleRevokePermission != nil || r.AuthRoleDelete != nil ||
		r.AuthUserList != nil || r.AuthRoleList != nil
}

// Apply executes one Auth request; responses have an empty header for
// the handler to fill.
func (as *Store) Apply(w MetaWriter, index uint64, r *pb.InternalRaftRequest) (proto.Message, error) {
	h := &pb.ResponseHeader{}
	switch {
	case r.Authenticate != nil:
		token, err := as.authenticate(r.Authenticate.Name, r.Authenticate.SimpleToken, index)
		return &pb.AuthenticateResponse{Header: h, Token: token}, err
	case r.AuthEnable != nil:
		return &pb.AuthEnableResponse{Header: h}, as.authEnable(w)
	case r.AuthDisable != nil:
		as.authDisable(w)
		return &pb.AuthDisableResponse{Header: h}, nil
	case r.AuthStatus != nil:
		enabled, rev := as.Status()
		return &pb.AuthStatusResponse{Header: h, Enabled: enabled, AuthRevision: rev}, nil
	case r.AuthUserAdd != nil:
		return &pb.AuthUserAddResponse{Header: h}, as.userAdd(w, r.AuthUserAdd)
	case r.AuthUserDelete != nil:
		return &pb.AuthUserDeleteResponse{Header: h}, as.userDelete(w, r.AuthUserDelete)
	case r.AuthUserChangePassword != nil:
		return &pb.AuthUserChangePasswordResponse{Header: h}, as.userChangePassword(w, r.AuthUserChangePassword)
	case r.AuthUserGrantRole != nil:
		return &pb.AuthUserGrantRoleResponse{Header: h}, as.userGrantRole(w, r.AuthUserGrantRole)
	case r.AuthUserRevokeRole != nil:
		return &pb.AuthUserRevokeRoleResponse{Header: h}, as.userRevokeRole(w, r.AuthUserRevokeRole)
	case r.AuthUserGet != nil:
		resp, err := as.userGet(r.AuthUserGet.Name)
		if resp != nil {
			resp.Header = h
		}
		return resp, err
	case r.AuthUserList != nil:
		return &pb.AuthUserListResponse{Header: h, Users: as.userList()}, nil
	case r.AuthRoleAdd != nil:
		return &pb.AuthRoleAddResponse{Header: h}, as.roleAdd(w, r.AuthRoleAdd)
	case r.AuthRoleDelete != nil:
		return &pb.AuthRoleDeleteResponse{Header: h}, as.roleDelete(w, r.AuthRoleDelete)
	case r.AuthRoleGrantPermission != nil:
		return &pb.AuthRoleGrantPermissionResponse{Header: h}, as.roleGrantPermission(w, r.AuthRoleGrantPermission)
	case r.AuthRoleRevokePermission != nil:
		return &pb.AuthRoleRevokePermissionResponse{Header: h}, as.roleRevokePermission(w, r.AuthRoleRevokePermission)
	case r.AuthRoleGet != nil:
		resp, err := as.roleGet(r.AuthRoleGet.Role)
		if resp != nil {
			resp.Header = h
		}
		return resp, err
	case r.AuthRoleList != nil:
		return &pb.AuthRoleListResponse{Header: h, Roles: as.roleList()}, nil
	}
	panic("auth: apply called with a request that is not an Auth request")
}

// authenticate records a successful password check at index: the user
// must still exist and have a password. A simple token is made here, on
// every member; a JWT is signed by the handler afterwards.
func (as *Store) authenticate(name, prefix string, index uint64) (string, error) {
	as.mu.RLock()
	defer as.mu.RUnlock()
	if !as.enabled {
		return "", ErrAuthNotEnabled
	}
	u := as.users[name]
	if u == nil || (u.Options != nil && u.Options.NoPassword) {
		return "", ErrAuthFailed
	}
	if prefix == "" {
		return "", nil
	}
	return as.tokens.register(name, prefix, index), nil
}
