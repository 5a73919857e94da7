package etcdapi

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
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

// fakeIdP verifies "ext-<user>" tokens until it goes down.
type fakeIdP struct {
	down  bool
	calls int
}

func (f *fakeIdP) Info(context.Context) (auth.InfoResponse, error) {
	return auth.InfoResponse{Name: "fake"}, nil
}

func (f *fakeIdP) Authenticate(context.Context, auth.AuthenticateRequest) (auth.AuthenticateResponse, error) {
	return auth.AuthenticateResponse{}, auth.ErrNotSupported
}

func (f *fakeIdP) VerifyToken(_ context.Context, r auth.VerifyTokenRequest) (auth.VerifyTokenResponse, error) {
	f.calls++
	if f.down {
		return auth.VerifyTokenResponse{}, auth.ErrUnavailable
	}
	user, ok := strings.CutPrefix(r.Token, "ext-")
	if !ok {
		return auth.VerifyTokenResponse{}, auth.ErrInvalidToken
	}
	return auth.VerifyTokenResponse{Identity: auth.Identity{User: user, Groups: []string{"g"}, Expires: time.Now().Add(time.Hour)}}, nil
}

func TestExternalProviderIdentitiesAreCachedAndFailClosed(t *testing.T) {
	s, _ := benchAuth(&testing.B{}, newSimpleTokens(0, timeNow, noWait), nil)
	idp := &fakeIdP{}
	s.auth.external = newExternalTokens(idp)
	ctxFor := func(token string) context.Context {
		ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{}})
		return metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer "+token))
	}

	ai, err := s.callerAuthInfo(ctxFor("ext-u"))
	require.NoError(t, err)
	require.Equal(t, "u", ai.user)
	require.NoError(t, s.auth.rangePermitted(ai, []byte("r1/a/x"), nil), "the user's etcd roles apply")
	_, err = s.callerAuthInfo(ctxFor("ext-u"))
	require.NoError(t, err)
	require.Equal(t, 1, idp.calls, "verified once, then cached")

	_, err = s.callerAuthInfo(ctxFor("forged"))
	require.ErrorIs(t, err, ErrInvalidAuthToken)

	idp.down = true
	_, err = s.callerAuthInfo(ctxFor("ext-u"))
	require.NoError(t, err, "a verified identity outlives the provider")
	_, err = s.callerAuthInfo(ctxFor("ext-v"))
	require.ErrorIs(t, err, ErrAuthUnavailable, "an unknown token fails closed")

	// An auth change drops what was verified before it.
	require.NoError(t, s.auth.roleAdd(memMeta{}, &pb.AuthRoleAddRequest{Name: "new"}))
	_, err = s.callerAuthInfo(ctxFor("ext-u"))
	require.ErrorIs(t, err, ErrAuthUnavailable)
}
