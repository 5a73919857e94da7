package auth

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"

	authplugin "github.com/metastore/metastore/pluginapi/auth"
)

// etcdProvider is the built-in "etcd" auth provider: etcd's bcrypt users
// and the simple or JWT tokens this member issues. The host reaches every
// provider through authplugin.Provider; this one's errors also wrap etcd's own
// sentinels, so clients see exactly etcd's errors.
type etcdProvider struct{ as *Store }

var _ authplugin.Provider = etcdProvider{}

func (p etcdProvider) Info(context.Context) (authplugin.InfoResponse, error) {
	return authplugin.InfoResponse{Name: "etcd", Capabilities: []string{authplugin.CapabilityPassword, authplugin.CapabilityToken}}, nil
}

func (p etcdProvider) Authenticate(ctx context.Context, req authplugin.AuthenticateRequest) (authplugin.AuthenticateResponse, error) {
	rev, err := p.as.checkPassword(ctx, req.User, req.Password)
	switch {
	case errors.Is(err, ErrAuthFailed), errors.Is(err, ErrNoPasswordUser):
		return authplugin.AuthenticateResponse{}, fmt.Errorf("%w: %w", authplugin.ErrInvalidCredentials, err)
	case err != nil:
		return authplugin.AuthenticateResponse{}, err
	}
	return authplugin.AuthenticateResponse{Identity: authplugin.Identity{User: req.User, AuthRevision: rev}}, nil
}

func (p etcdProvider) VerifyToken(ctx context.Context, req authplugin.VerifyTokenRequest) (authplugin.VerifyTokenResponse, error) {
	ai, ok := p.as.tokens.info(ctx, req.Token, p.as.Revision())
	if !ok {
		return authplugin.VerifyTokenResponse{}, fmt.Errorf("%w: %w", authplugin.ErrInvalidToken, ErrInvalidAuthToken)
	}
	return authplugin.VerifyTokenResponse{Identity: authplugin.Identity{User: ai.User, AuthRevision: ai.Revision}}, nil
}

// ErrAuthUnavailable reports an auth provider that cannot answer; the
// request is refused (fail closed).
var ErrAuthUnavailable = errors.New("auth: auth provider unavailable")

// VerifyToken asks the provider who token stands for.
func (as *Store) VerifyToken(ctx context.Context, token string, revision uint64) (Info, error) {
	resp, err := as.provider.VerifyToken(ctx, authplugin.VerifyTokenRequest{Token: token})
	if errors.Is(err, authplugin.ErrInvalidToken) && as.external != nil {
		return as.external.verify(ctx, token, revision)
	}
	switch {
	case errors.Is(err, authplugin.ErrUnavailable):
		return Info{}, fmt.Errorf("%w: %w", ErrAuthUnavailable, err)
	case err != nil:
		return Info{}, ErrInvalidAuthToken
	}
	ai := Info{User: resp.Identity.User, Revision: resp.Identity.AuthRevision}
	if ai.Revision == 0 {
		ai.Revision = revision
	}
	return ai, nil
}

// authenticate asks the provider whether a password is the user's and
// returns the auth revision it was checked at, with etcd's errors.
func (as *Store) AuthenticatePassword(ctx context.Context, user, password string) (uint64, error) {
	resp, err := as.provider.Authenticate(ctx, authplugin.AuthenticateRequest{User: user, Password: password})
	switch {
	case err == nil:
		return resp.Identity.AuthRevision, nil
	case errors.Is(err, ErrNoPasswordUser):
		return 0, ErrNoPasswordUser // clients see its text
	case errors.Is(err, ErrAuthFailed), errors.Is(err, ErrAuthNotEnabled):
		return 0, err
	case errors.Is(err, authplugin.ErrUnavailable):
		return 0, fmt.Errorf("%w: %w", ErrAuthUnavailable, err)
	case errors.Is(err, ErrPasswordChecksBusy), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return 0, err
	}
	return 0, ErrAuthFailed
}

// checkPassword compares password with the user's bcrypt hash, once the
// password gate lets it, and returns the auth revision the user was read
// at.
func (as *Store) checkPassword(ctx context.Context, name, password string) (uint64, error) {
	as.mu.RLock()
	enabled, rev, u := as.enabled, as.revision, as.users[name]
	as.mu.RUnlock()
	switch {
	case !enabled:
		return 0, ErrAuthNotEnabled
	case u == nil:
		as.gate.failed.Add(1)
		return 0, ErrAuthFailed
	case u.Options != nil && u.Options.NoPassword:
		return 0, ErrNoPasswordUser
	}
	var mismatch error
	if err := as.gate.run(ctx, func() { mismatch = bcrypt.CompareHashAndPassword(u.Password, []byte(password)) }); err != nil {
		return 0, err
	}
	if mismatch != nil {
		as.gate.failed.Add(1)
		as.lg.Info("invalid password", zap.String("user-name", name))
		return 0, ErrAuthFailed
	}
	return rev, nil
}

// HashPassword returns the bcrypt hash of password at the member's cost,
// once the password gate lets it.
func (as *Store) HashPassword(ctx context.Context, password string) ([]byte, error) {
	var h []byte
	var hashErr error
	if err := as.gate.run(ctx, func() { h, hashErr = bcrypt.GenerateFromPassword([]byte(password), as.bcryptCost) }); err != nil {
		return nil, err
	}
	return h, hashErr
}

// TokenPrefix returns what an Authenticate proposal carries to name the
// token its apply makes, or "" if the token provider makes none there.
func (as *Store) TokenPrefix() (string, error) { return as.tokens.prefix() }

// SignToken makes a token for user at revision once the Authenticate
// entry has applied, for token providers that sign rather than register.
func (as *Store) SignToken(user string, revision uint64) (string, error) {
	return as.tokens.sign(user, revision)
}

// ClientCertAuth reports whether a verified client certificate's common
// name is the user of a request without a token (--client-cert-auth).
func (as *Store) ClientCertAuth() bool { return as.clientCertAuth }
