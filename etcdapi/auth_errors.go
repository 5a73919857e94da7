package etcdapi

import (
	"errors"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Errors of users, roles, permissions and tokens.
var (
	ErrRootUserNotExist     = errors.New("etcdapi: root user does not exist")
	ErrRootRoleNotExist     = errors.New("etcdapi: root user does not have root role")
	ErrUserAlreadyExist     = errors.New("etcdapi: user already exists")
	ErrUserEmpty            = errors.New("etcdapi: user name is empty")
	ErrUserNotFound         = errors.New("etcdapi: user not found")
	ErrRoleAlreadyExist     = errors.New("etcdapi: role already exists")
	ErrRoleNotFound         = errors.New("etcdapi: role not found")
	ErrRoleEmpty            = errors.New("etcdapi: role name is empty")
	ErrPermissionNotGiven   = errors.New("etcdapi: permission not given")
	ErrAuthFailed           = errors.New("etcdapi: authentication failed, invalid user ID or password")
	ErrPermissionDenied     = errors.New("etcdapi: permission denied")
	ErrRoleNotGranted       = errors.New("etcdapi: role is not granted to the user")
	ErrPermissionNotGranted = errors.New("etcdapi: permission is not granted to the role")
	ErrAuthNotEnabled       = errors.New("etcdapi: authentication is not enabled")
	ErrAuthOldRevision      = errors.New("etcdapi: revision in header is old")
	ErrInvalidAuthToken     = errors.New("etcdapi: invalid auth token")
	ErrInvalidAuthMgmt      = errors.New("etcdapi: invalid auth management")
	// ErrNoPasswordUser has no gRPC counterpart: clients see it as Unknown
	// with etcd's text, so it keeps that text.
	ErrNoPasswordUser = errors.New("auth: authentication failed, password was given for no password user")
	// ErrInvalidAuthOpts reports a malformed --auth-token.
	ErrInvalidAuthOpts = errors.New("etcdapi: invalid auth options")
)

// authGRPCErrors pairs the auth sentinels with etcd's errors for them.
var authGRPCErrors = []struct {
	err  error
	grpc error
}{
	{ErrRootUserNotExist, rpctypes.ErrGRPCRootUserNotExist},
	{ErrRootRoleNotExist, rpctypes.ErrGRPCRootRoleNotExist},
	{ErrUserAlreadyExist, rpctypes.ErrGRPCUserAlreadyExist},
	{ErrUserEmpty, rpctypes.ErrGRPCUserEmpty},
	{ErrUserNotFound, rpctypes.ErrGRPCUserNotFound},
	{ErrRoleAlreadyExist, rpctypes.ErrGRPCRoleAlreadyExist},
	{ErrRoleNotFound, rpctypes.ErrGRPCRoleNotFound},
	{ErrRoleEmpty, rpctypes.ErrGRPCRoleEmpty},
	{ErrAuthFailed, rpctypes.ErrGRPCAuthFailed},
	{ErrPermissionNotGiven, rpctypes.ErrGRPCPermissionNotGiven},
	{ErrPermissionDenied, rpctypes.ErrGRPCPermissionDenied},
	{ErrRoleNotGranted, rpctypes.ErrGRPCRoleNotGranted},
	{ErrPermissionNotGranted, rpctypes.ErrGRPCPermissionNotGranted},
	{ErrAuthNotEnabled, rpctypes.ErrGRPCAuthNotEnabled},
	{ErrInvalidAuthToken, rpctypes.ErrGRPCInvalidAuthToken},
	{ErrInvalidAuthMgmt, rpctypes.ErrGRPCInvalidAuthMgmt},
	{ErrAuthOldRevision, rpctypes.ErrGRPCAuthOldRevision},
	{ErrAuthUnavailable, status.Error(codes.Unavailable, "etcdserver: auth provider unavailable")},
}

func init() {
	// toGRPCError matches these like its own list.
	grpcErrors = append(grpcErrors, authGRPCErrors...)
}
