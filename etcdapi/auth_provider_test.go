package etcdapi

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/metastore/metastore/pluginapi/auth"
)

// deadProvider is a provider whose process is gone.
type deadProvider struct{}

func (deadProvider) Info(context.Context) (auth.InfoResponse, error) {
	return auth.InfoResponse{}, auth.ErrUnavailable
}

func (deadProvider) Authenticate(context.Context, auth.AuthenticateRequest) (auth.AuthenticateResponse, error) {
	return auth.AuthenticateResponse{}, auth.ErrUnavailable
}

func (deadProvider) VerifyToken(context.Context, auth.VerifyTokenRequest) (auth.VerifyTokenResponse, error) {
	return auth.VerifyTokenResponse{}, auth.ErrUnavailable
}

func TestEtcdProviderThroughTheContract(t *testing.T) {
	s, ctx := benchAuth(&testing.B{}, newSimpleTokens(0, timeNow, noWait), nil)
	var p auth.Provider = s.auth.provider
	info, err := p.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, "etcd", info.Name)
	_, err = p.VerifyToken(ctx, auth.VerifyTokenRequest{Token: "nope"})
	require.ErrorIs(t, err, auth.ErrInvalidToken)
	require.ErrorIs(t, err, ErrInvalidAuthToken)
	_, err = p.Authenticate(ctx, auth.AuthenticateRequest{User: "u", Password: "x"})
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	require.ErrorIs(t, err, ErrNoPasswordUser, "u has no password")
	_, err = p.Authenticate(ctx, auth.AuthenticateRequest{User: "nobody", Password: "x"})
	require.ErrorIs(t, err, ErrAuthFailed)

	ai, err := s.callerAuthInfo(ctx)
	require.NoError(t, err)
	require.Equal(t, "u", ai.user)
}

func TestDeadProviderFailsClosed(t *testing.T) {
	s, ctx := benchAuth(&testing.B{}, newSimpleTokens(0, timeNow, noWait), nil)
	s.auth.provider = deadProvider{}
	_, err := s.callerAuthInfo(ctx)
	require.ErrorIs(t, err, ErrAuthUnavailable)
	require.Equal(t, codes.Unavailable, status.Code(toGRPCError(err)))
	_, err = s.auth.authenticatePassword(ctx, "u", "x")
	require.ErrorIs(t, err, ErrAuthUnavailable)

	// No token: nothing to verify, the request goes on as nobody.
	bare := peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{}})
	ai, err := s.callerAuthInfo(metadata.NewIncomingContext(bare, metadata.MD{}))
	require.NoError(t, err)
	require.Equal(t, authInfo{}, ai)
	require.Equal(t, rpctypes.ErrGRPCUserEmpty, toGRPCError(s.auth.rangePermitted(ai, []byte("k"), nil)))
}
