package etcdapi

import (
	"context"
	"encoding/base64"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/protobuf/proto"
)

// AuthServer serves the etcd Auth service. Every call goes through raft,
// as in etcd, so answers are linearizable and changes reach every member
// in log order.
type AuthServer struct {
	pb.UnimplementedAuthServer
	s *Server
}

// Auth returns the Auth service of s.
func (s *Server) Auth() *AuthServer { return &AuthServer{s: s} }

// headered is every Auth response.
type headered interface {
	proto.Message
	GetHeader() *pb.ResponseHeader
}

// call proposes r and returns its response with the header filled.
func call[T headered](ctx context.Context, s *Server, r *pb.InternalRaftRequest) (T, error) {
	var zero T
	res, err := s.propose(ctx, r)
	if err = firstErr(err, res.Err); err != nil {
		return zero, toGRPCError(err)
	}
	resp := res.Resp.(T)
	s.fillHeader(resp.GetHeader())
	return resp, nil
}

// AuthEnable turns authentication on; it needs a root user with the root
// role.
func (a *AuthServer) AuthEnable(ctx context.Context, r *pb.AuthEnableRequest) (*pb.AuthEnableResponse, error) {
	return call[*pb.AuthEnableResponse](ctx, a.s, &pb.InternalRaftRequest{AuthEnable: r})
}

// AuthDisable turns authentication off.
func (a *AuthServer) AuthDisable(ctx context.Context, r *pb.AuthDisableRequest) (*pb.AuthDisableResponse, error) {
	return call[*pb.AuthDisableResponse](ctx, a.s, &pb.InternalRaftRequest{AuthDisable: r})
}

// AuthStatus reports whether authentication is on and the auth revision.
func (a *AuthServer) AuthStatus(ctx context.Context, r *pb.AuthStatusRequest) (*pb.AuthStatusResponse, error) {
	return call[*pb.AuthStatusResponse](ctx, a.s, &pb.InternalRaftRequest{AuthStatus: r})
}

// Authenticate checks a user's password and returns a token. The bcrypt
// comparison runs here, never in the applier; the proposal carries no
// password. If the auth state changed between the check and the apply,
// the check is made again.
func (a *AuthServer) Authenticate(ctx context.Context, r *pb.AuthenticateRequest) (*pb.AuthenticateResponse, error) {
	s := a.s
	defer func() { r.Password = "" }()
	if err := s.linearizableBarrier(ctx); err != nil {
		return nil, toGRPCError(err)
	}
	for {
		checked, err := s.auth.AuthenticatePassword(ctx, r.Name, r.Password)
		if err != nil {
			return nil, toGRPCError(err)
		}
		prefix, err := s.auth.TokenPrefix()
		if err != nil {
			return nil, toGRPCError(err)
		}
		resp, err := call[*pb.AuthenticateResponse](ctx, s, &pb.InternalRaftRequest{
			Authenticate: &pb.InternalAuthenticateRequest{Name: r.Name, SimpleToken: prefix},
		})
		if err != nil {
			return nil, err
		}
		if checked != s.auth.Revision() {
			s.lg.Info("the auth revision changed while checking a password; checking again")
			continue
		}
		if resp.Token == "" {
			if resp.Token, err = s.auth.SignToken(r.Name, checked); err != nil {
				return nil, toGRPCError(err)
			}
		}
		return resp, nil
	}
}

// hashPassword replaces a request's password with its bcrypt hash, after
// checking the caller may make the request at all, so that nobody else
// can make the member spend bcrypt time.
func (s *Server) hashPassword(ctx context.Context, r *pb.InternalRaftRequest, password *string, hashed *string) error {
	if _, err := s.authorizeProposal(ctx, r); err != nil {
		return err
	}
	h, err := s.auth.HashPassword(ctx, *password)
	if err != nil {
		return err
	}
	*hashed, *password = base64.StdEncoding.EncodeToString(h), ""
	return nil
}

// UserAdd adds a user; without the no_password option its password is
// hashed here.
func (a *AuthServer) UserAdd(ctx context.Context, r *pb.AuthUserAddRequest) (*pb.AuthUserAddResponse, error) {
	ir := &pb.InternalRaftRequest{AuthUserAdd: r}
	if r.Options == nil || !r.Options.NoPassword {
		if err := a.s.hashPassword(ctx, ir, &r.Password, &r.HashedPassword); err != nil {
			return nil, toGRPCError(err)
		}
	}
	return call[*pb.AuthUserAddResponse](ctx, a.s, ir)
}

// UserDelete deletes a user.
func (a *AuthServer) UserDelete(ctx context.Context, r *pb.AuthUserDeleteRequest) (*pb.AuthUserDeleteResponse, error) {
	return call[*pb.AuthUserDeleteResponse](ctx, a.s, &pb.InternalRaftRequest{AuthUserDelete: r})
}

// UserChangePassword sets a user's password, hashed here.
func (a *AuthServer) UserChangePassword(ctx context.Context, r *pb.AuthUserChangePasswordRequest) (*pb.AuthUserChangePasswordResponse, error) {
	ir := &pb.InternalRaftRequest{AuthUserChangePassword: r}
	if r.Password != "" {
		if err := a.s.hashPassword(ctx, ir, &r.Password, &r.HashedPassword); err != nil {
			return nil, toGRPCError(err)
		}
	}
	return call[*pb.AuthUserChangePasswordResponse](ctx, a.s, ir)
}

// UserGrantRole grants a role to a user.
func (a *AuthServer) UserGrantRole(ctx context.Context, r *pb.AuthUserGrantRoleRequest) (*pb.AuthUserGrantRoleResponse, error) {
	return call[*pb.AuthUserGrantRoleResponse](ctx, a.s, &pb.InternalRaftRequest{AuthUserGrantRole: r})
}

// UserRevokeRole revokes a role from a user.
func (a *AuthServer) UserRevokeRole(ctx context.Context, r *pb.AuthUserRevokeRoleRequest) (*pb.AuthUserRevokeRoleResponse, error) {
	return call[*pb.AuthUserRevokeRoleResponse](ctx, a.s, &pb.InternalRaftRequest{AuthUserRevokeRole: r})
}

// UserGet returns a user's roles.
func (a *AuthServer) UserGet(ctx context.Context, r *pb.AuthUserGetRequest) (*pb.AuthUserGetResponse, error) {
	return call[*pb.AuthUserGetResponse](ctx, a.s, &pb.InternalRaftRequest{AuthUserGet: r})
}

// UserList lists the users, sorted.
func (a *AuthServer) UserList(ctx context.Context, r *pb.AuthUserListRequest) (*pb.AuthUserListResponse, error) {
	return call[*pb.AuthUserListResponse](ctx, a.s, &pb.InternalRaftRequest{AuthUserList: r})
}

// RoleAdd adds a role.
func (a *AuthServer) RoleAdd(ctx context.Context, r *pb.AuthRoleAddRequest) (*pb.AuthRoleAddResponse, error) {
	return call[*pb.AuthRoleAddResponse](ctx, a.s, &pb.InternalRaftRequest{AuthRoleAdd: r})
}

// RoleDelete deletes a role and revokes it from every user.
func (a *AuthServer) RoleDelete(ctx context.Context, r *pb.AuthRoleDeleteRequest) (*pb.AuthRoleDeleteResponse, error) {
	return call[*pb.AuthRoleDeleteResponse](ctx, a.s, &pb.InternalRaftRequest{AuthRoleDelete: r})
}

// RoleGet returns a role's permissions.
func (a *AuthServer) RoleGet(ctx context.Context, r *pb.AuthRoleGetRequest) (*pb.AuthRoleGetResponse, error) {
	return call[*pb.AuthRoleGetResponse](ctx, a.s, &pb.InternalRaftRequest{AuthRoleGet: r})
}

// RoleList lists the roles, sorted.
func (a *AuthServer) RoleList(ctx context.Context, r *pb.AuthRoleListRequest) (*pb.AuthRoleListResponse, error) {
	return call[*pb.AuthRoleListResponse](ctx, a.s, &pb.InternalRaftRequest{AuthRoleList: r})
}

// RoleGrantPermission grants (or changes the type of) a permission on a
// key or range to a role.
func (a *AuthServer) RoleGrantPermission(ctx context.Context, r *pb.AuthRoleGrantPermissionRequest) (*pb.AuthRoleGrantPermissionResponse, error) {
	return call[*pb.AuthRoleGrantPermissionResponse](ctx, a.s, &pb.InternalRaftRequest{AuthRoleGrantPermission: r})
}

// RoleRevokePermission revokes a role's permission on a key or range.
func (a *AuthServer) RoleRevokePermission(ctx context.Context, r *pb.AuthRoleRevokePermissionRequest) (*pb.AuthRoleRevokePermissionResponse, error) {
	return call[*pb.AuthRoleRevokePermissionResponse](ctx, a.s, &pb.InternalRaftRequest{AuthRoleRevokePermission: r})
}
