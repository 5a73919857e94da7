package etcdapi

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/metastore/metastore/etcdapi/auth"
)

// TestAuthErrorsAreEtcds: the auth package's sentinels reach clients as
// etcd's errors, wrapped or not, and a provider that cannot answer as
// Unavailable.
func TestAuthErrorsAreEtcds(t *testing.T) {
	tests := []struct {
		err  error
		want error
	}{
		{auth.ErrUserEmpty, rpctypes.ErrGRPCUserEmpty},
		{auth.ErrPermissionDenied, rpctypes.ErrGRPCPermissionDenied},
		{auth.ErrAuthOldRevision, rpctypes.ErrGRPCAuthOldRevision},
		{auth.ErrInvalidAuthToken, rpctypes.ErrGRPCInvalidAuthToken},
		{fmt.Errorf("checking: %w", auth.ErrRoleNotFound), rpctypes.ErrGRPCRoleNotFound},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, toGRPCError(tt.err), "%v", tt.err)
	}
	err := toGRPCError(fmt.Errorf("%w: provider down", auth.ErrAuthUnavailable))
	require.Equal(t, codes.Unavailable, status.Code(err))
	require.Equal(t, "etcdserver: auth provider unavailable", status.Convert(err).Message())
}
