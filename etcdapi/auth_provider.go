package etcdapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/metastore/metastore/pluginapi/auth"
)

// etcdProvider is the built-in "etcd" auth provider: etcd's bcrypt users
// and the simple or JWT tokens this member issues. The host reaches every
// provider through auth.Provider; this one's errors also wrap etcd's own
// sentinels, so clients see exactly etcd's errors.
type etcdProvider struct{ as *authStore }

var _ auth.Provider = etcdProvider{}

func (p etcdProvider) Info(context.Context) (auth.InfoResponse, error) {
	return auth.InfoResponse{Name: "etcd", Capabilities: []string{auth.CapabilityPassword, auth.CapabilityToken}}, nil
}

func (p etcdProvider) Authenticate(_ context.Context, req auth.AuthenticateRequest) (auth.AuthenticateResponse, error) {
	rev, err := p.as.checkPassword(req.User, req.Password)
	switch {
	case errors.Is(err, ErrAuthFailed), errors.Is(err, ErrNoPasswordUser):
		return auth.AuthenticateResponse{}, fmt.Errorf("%w: %w", auth.ErrInvalidCredentials, err)
	case err != nil:
		return auth.AuthenticateResponse{}, err
	}
	return auth.AuthenticateResponse{Identity: auth.Identity{User: req.User, AuthRevision: rev}}, nil
}

func (p etcdProvider) VerifyToken(ctx context.Context, req auth.VerifyTokenRequest) (auth.VerifyTokenResponse, error) {
	ai, ok := p.as.tokens.info(ctx, req.Token, p.as.currentRevision())
	if !ok {
		return auth.VerifyTokenResponse{}, fmt.Errorf("%w: %w", auth.ErrInvalidToken, ErrInvalidAuthToken)
	}
	return auth.VerifyTokenResponse{Identity: auth.Identity{User: ai.user, AuthRevision: ai.revision}}, nil
}

// ErrAuthUnavailable reports an auth provider that cannot answer; the
// request is refused (fail closed).
var ErrAuthUnavailable = errors.New("etcdapi: auth provider unavailable")

// verifyToken asks the provider who token stands for.
func (as *authStore) verifyToken(ctx context.Context, token string, revision uint64) (authInfo, error) {
	resp, err := as.provider.VerifyToken(ctx, auth.VerifyTokenRequest{Token: token})
	if errors.Is(err, auth.ErrInvalidToken) && as.external != nil {
		return as.external.verify(ctx, token, revision)
	}
	switch {
	case errors.Is(err, auth.ErrUnavailable):
		return authInfo{}, fmt.Errorf("%w: %w", ErrAuthUnavailable, err)
	case err != nil:
		return authInfo{}, ErrInvalidAuthToken
	}
	ai := authInfo{user: resp.Identity.User, revision: resp.Identity.AuthRevision}
	if ai.revision == 0 {
		ai.revision = revision
	}
	return ai, nil
}

// authenticate asks the provider whether a password is the user's and
// returns the auth revision it was checked at, with etcd's errors.
func (as *authStore) authenticatePassword(ctx context.Context, user, password string) (uint64, error) {
	resp, err := as.provider.Authenticate(ctx, auth.AuthenticateRequest{User: user, Password: password})
	switch {
	case err == nil:
		return resp.Identity.AuthRevision, nil
	case errors.Is(err, ErrNoPasswordUser):
		return 0, ErrNoPasswordUser // clients see its text
	case errors.Is(err, ErrAuthFailed), errors.Is(err, ErrAuthNotEnabled):
		return 0, err
	case errors.Is(err, auth.ErrUnavailable):
		return 0, fmt.Errorf("%w: %w", ErrAuthUnavailable, err)
	}
	return 0, ErrAuthFailed
}
