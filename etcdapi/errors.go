package etcdapi

import (
	"context"
	"errors"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/metastore/metastore/etcdapi/apply"
	"github.com/metastore/metastore/etcdapi/auth"
	"github.com/metastore/metastore/etcdapi/lease"
	"github.com/metastore/metastore/etcdapi/txn"
	"github.com/metastore/metastore/mvcc"
	"github.com/metastore/metastore/pluginapi/storage"
)

// Errors raised by the apply state machine and the request path. They are
// turned into rpctypes values by toGRPCError and never leave this package
// any other way.
var (
	ErrLeaseNotFound   = lease.ErrNotFound
	ErrRequestTooLarge = errors.New("etcdapi: request is too large")
	ErrStopped         = errors.New("etcdapi: server stopped")
	ErrTimeout         = errors.New("etcdapi: request timed out")
	ErrNoLeader        = errors.New("etcdapi: no leader")
)

// grpcErrors pairs each sentinel with the error etcd returns for it. It is a
// list, not a map, because errors are matched with errors.Is: a wrapped
// sentinel keeps its meaning.
var grpcErrors = []struct {
	err  error
	grpc error
}{
	{mvcc.ErrCompacted, rpctypes.ErrGRPCCompacted},
	{mvcc.ErrFutureRev, rpctypes.ErrGRPCFutureRev},
	{txn.ErrKeyNotFound, rpctypes.ErrGRPCKeyNotFound},
	{txn.ErrLeaseNotFound, rpctypes.ErrGRPCLeaseNotFound},
	{ErrLeaseNotFound, rpctypes.ErrGRPCLeaseNotFound},
	{ErrRequestTooLarge, rpctypes.ErrGRPCRequestTooLarge},
	{ErrStopped, rpctypes.ErrGRPCStopped},
	{lease.ErrStopped, rpctypes.ErrGRPCStopped},
	{ErrTimeout, rpctypes.ErrGRPCTimeout},
	{ErrNoLeader, rpctypes.ErrGRPCNoLeader},
	{ErrNoSpace, rpctypes.ErrGRPCNoSpace},
	{apply.ErrCorrupt, rpctypes.ErrGRPCCorrupt},
	// Data the storage engine could not verify is never served; this
	// member's CORRUPT alarm is raised (noteEngineError).
	{storage.ErrCorrupt, rpctypes.ErrGRPCCorrupt},
	{storage.ErrUnavailable, errGRPCEngineUnavailable},
	// An engine answered with data it cannot have written (a value that
	// does not decode, fewer values than asked): the request is refused
	// as etcd refuses one on a corrupt member, never answered wrongly.
	{storage.ErrCorrupt, rpctypes.ErrGRPCCorrupt},
	// Users, roles, permissions and tokens.
	{auth.ErrRootUserNotExist, rpctypes.ErrGRPCRootUserNotExist},
	{auth.ErrRootRoleNotExist, rpctypes.ErrGRPCRootRoleNotExist},
	{auth.ErrUserAlreadyExist, rpctypes.ErrGRPCUserAlreadyExist},
	{auth.ErrUserEmpty, rpctypes.ErrGRPCUserEmpty},
	{auth.ErrUserNotFound, rpctypes.ErrGRPCUserNotFound},
	{auth.ErrRoleAlreadyExist, rpctypes.ErrGRPCRoleAlreadyExist},
	{auth.ErrRoleNotFound, rpctypes.ErrGRPCRoleNotFound},
	{auth.ErrRoleEmpty, rpctypes.ErrGRPCRoleEmpty},
	{auth.ErrAuthFailed, rpctypes.ErrGRPCAuthFailed},
	{auth.ErrPasswordChecksBusy, rpctypes.ErrGRPCRequestTooManyRequests},
	{auth.ErrPermissionNotGiven, rpctypes.ErrGRPCPermissionNotGiven},
	{auth.ErrPermissionDenied, rpctypes.ErrGRPCPermissionDenied},
	{auth.ErrRoleNotGranted, rpctypes.ErrGRPCRoleNotGranted},
	{auth.ErrPermissionNotGranted, rpctypes.ErrGRPCPermissionNotGranted},
	{auth.ErrAuthNotEnabled, rpctypes.ErrGRPCAuthNotEnabled},
	{auth.ErrInvalidAuthToken, rpctypes.ErrGRPCInvalidAuthToken},
	{auth.ErrInvalidAuthMgmt, rpctypes.ErrGRPCInvalidAuthMgmt},
	{auth.ErrAuthOldRevision, rpctypes.ErrGRPCAuthOldRevision},
	{auth.ErrAuthUnavailable, status.Error(codes.Unavailable, "etcdserver: auth provider unavailable")},
}

// errGRPCEngineUnavailable answers requests while the storage engine
// cannot serve (its plugin process died): the member stops and reopens it.
// etcd has no such error; Unavailable, like etcd's "server stopped", tells
// clients to retry, on another member when they know one.
var errGRPCEngineUnavailable = status.Error(codes.Unavailable, "etcdserver: storage engine unavailable")

// toGRPCError turns err into the gRPC status etcd sends for it. Context
// errors pass through so gRPC reports Canceled or DeadlineExceeded; errors
// that already carry a status are kept; anything else is Unknown.
func toGRPCError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	for _, e := range grpcErrors {
		if errors.Is(err, e.err) {
			return e.grpc
		}
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(codes.Unknown, err.Error())
}
