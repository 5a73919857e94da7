package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	authplugin "github.com/metastore/metastore/pluginapi/auth"
)

// deadProvider is a provider whose process is gone.
type deadProvider struct{}

func (deadProvider) Info(context.Context) (authplugin.InfoResponse, error) {
	return authplugin.InfoResponse{}, authplugin.ErrUnavailable
}

func (deadProvider) Authenticate(context.Context, authplugin.AuthenticateRequest) (authplugin.AuthenticateResponse, error) {
	return authplugin.AuthenticateResponse{}, authplugin.ErrUnavailable
}

func (deadProvider) VerifyToken(context.Context, authplugin.VerifyTokenRequest) (authplugin.VerifyTokenResponse, error) {
	return authplugin.VerifyTokenResponse{}, authplugin.ErrUnavailable
}

func TestEtcdProviderThroughTheContract(t *testing.T) {
	as, token := benchAuth(t, newSimpleTokens(0, timeNow, noWait), nil)
	ctx := context.Background()
	var p authplugin.Provider = as.provider
	info, err := p.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, "etcd", info.Name)
	_, err = p.VerifyToken(ctx, authplugin.VerifyTokenRequest{Token: "nope"})
	require.ErrorIs(t, err, authplugin.ErrInvalidToken)
	require.ErrorIs(t, err, ErrInvalidAuthToken)
	_, err = p.Authenticate(ctx, authplugin.AuthenticateRequest{User: "u", Password: "x"})
	require.ErrorIs(t, err, authplugin.ErrInvalidCredentials)
	require.ErrorIs(t, err, ErrNoPasswordUser, "u has no password")
	_, err = p.Authenticate(ctx, authplugin.AuthenticateRequest{User: "nobody", Password: "x"})
	require.ErrorIs(t, err, ErrAuthFailed)

	ai, err := as.VerifyToken(ctx, token, as.Revision())
	require.NoError(t, err)
	require.Equal(t, "u", ai.User)
}

func TestDeadProviderFailsClosed(t *testing.T) {
	as, token := benchAuth(t, newSimpleTokens(0, timeNow, noWait), nil)
	ctx := context.Background()
	as.provider = deadProvider{}
	_, err := as.VerifyToken(ctx, token, as.Revision())
	require.ErrorIs(t, err, ErrAuthUnavailable)
	_, err = as.AuthenticatePassword(ctx, "u", "x")
	require.ErrorIs(t, err, ErrAuthUnavailable)

	// Nobody (a request without a token) is refused as etcd refuses it.
	require.ErrorIs(t, as.RangePermitted(Info{}, []byte("k"), nil), ErrUserEmpty)
}

// fakeIdP verifies "ext-<user>" tokens until it goes down.
type fakeIdP struct {
	down  bool
	calls int
}

func (f *fakeIdP) Info(context.Context) (authplugin.InfoResponse, error) {
	return authplugin.InfoResponse{Name: "fake"}, nil
}

func (f *fakeIdP) Authenticate(context.Context, authplugin.AuthenticateRequest) (authplugin.AuthenticateResponse, error) {
	return authplugin.AuthenticateResponse{}, authplugin.ErrNotSupported
}

func (f *fakeIdP) VerifyToken(_ context.Context, r authplugin.VerifyTokenRequest) (authplugin.VerifyTokenResponse, error) {
	f.calls++
	if f.down {
		return authplugin.VerifyTokenResponse{}, authplugin.ErrUnavailable
	}
	user, ok := strings.CutPrefix(r.Token, "ext-")
	if !ok {
		return authplugin.VerifyTokenResponse{}, authplugin.ErrInvalidToken
	}
	return authplugin.VerifyTokenResponse{Identity: authplugin.Identity{User: user, Groups: []string{"g"}, Expires: time.Now().Add(time.Hour)}}, nil
}

func TestExternalProviderIdentitiesAreCachedAndFailClosed(t *testing.T) {
	as, _ := benchAuth(t, newSimpleTokens(0, timeNow, noWait), nil)
	ctx := context.Background()
	idp := &fakeIdP{}
	as.external = newExternalTokens(idp)
	verify := func(token string) (Info, error) { return as.VerifyToken(ctx, token, as.Revision()) }

	ai, err := verify("ext-u")
	require.NoError(t, err)
	require.Equal(t, "u", ai.User)
	require.NoError(t, as.RangePermitted(ai, []byte("r1/a/x"), nil), "the user's etcd roles apply")
	_, err = verify("ext-u")
	require.NoError(t, err)
	require.Equal(t, 1, idp.calls, "verified once, then cached")

	_, err = verify("forged")
	require.ErrorIs(t, err, ErrInvalidAuthToken)

	idp.down = true
	_, err = verify("ext-u")
	require.NoError(t, err, "a verified identity outlives the provider")
	_, err = verify("ext-v")
	require.ErrorIs(t, err, ErrAuthUnavailable, "an unknown token fails closed")

	// An auth change drops what was verified before it.
	require.NoError(t, as.roleAdd(memMeta{}, &pb.AuthRoleAddRequest{Name: "new"}))
	_, err = verify("ext-u")
	require.ErrorIs(t, err, ErrAuthUnavailable)
}
