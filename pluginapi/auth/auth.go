package auth

import (
	"context"
	"errors"
	"time"
)

// Provider verifies credentials.
//
// Life cycle: the host builds a Provider, calls Info once to log what it
// runs, then Authenticate and VerifyToken from many goroutines at once. A
// Provider must be safe for concurrent use. Requests and responses belong
// to the caller after the call returns; a Provider keeps no reference to
// them.
type Provider interface {
	// Info describes the provider.
	Info(ctx context.Context) (InfoResponse, error)

	// Authenticate checks a user name and password. It returns
	// ErrInvalidCredentials when they do not match (whether the user is
	// unknown or the password wrong), ErrNotSupported when the provider
	// takes no passwords, ErrUnavailable when it cannot answer now.
	Authenticate(ctx context.Context, req AuthenticateRequest) (AuthenticateResponse, error)

	// VerifyToken checks a bearer token. It returns ErrInvalidToken for a
	// token that is malformed, forged, expired or not meant for this
	// cluster, ErrUnavailable when it cannot answer now.
	VerifyToken(ctx context.Context, req VerifyTokenRequest) (VerifyTokenResponse, error)
}

// InfoResponse names a provider and what it does.
type InfoResponse struct {
	Name    string
	Version string
	// Capabilities lists optional behaviour: CapabilityPassword,
	// CapabilityToken.
	Capabilities []string
}

// Capabilities a provider declares in InfoResponse.
const (
	// CapabilityPassword: Authenticate checks passwords.
	CapabilityPassword = "password"
	// CapabilityToken: VerifyToken checks bearer tokens.
	CapabilityToken = "token"
)

// AuthenticateRequest carries a user name and password.
type AuthenticateRequest struct {
	User     string
	Password string
}

// AuthenticateResponse is the identity the credentials belong to.
type AuthenticateResponse struct {
	Identity Identity
}

// VerifyTokenRequest carries a bearer token, without its "Bearer " prefix.
type VerifyTokenRequest struct {
	Token string
}

// VerifyTokenResponse is the identity the token stands for.
type VerifyTokenResponse struct {
	Identity Identity
}

// Identity is who verified credentials belong to.
type Identity struct {
	// User is the user name roles are granted to.
	User string
	// Groups are the groups the provider says the user is in; roles may
	// be granted to a group.
	Groups []string
	// AuthRevision is, for tokens the host issued itself, the auth
	// revision they were issued at (0 for identities from elsewhere, which
	// are checked against the current revision).
	AuthRevision uint64
	// Expires is when the identity stops holding; zero means the provider
	// says nothing, and the host checks again on every request.
	Expires time.Time
}

// Sentinel errors a provider returns, wrapped or not; callers check them
// with errors.Is.
var (
	// ErrInvalidCredentials marks a user name and password that do not
	// match.
	ErrInvalidCredentials = errors.New("auth: invalid credentials")
	// ErrInvalidToken marks a token that does not verify.
	ErrInvalidToken = errors.New("auth: invalid token")
	// ErrNotSupported marks a kind of credential the provider does not
	// take.
	ErrNotSupported = errors.New("auth: not supported")
	// ErrUnavailable marks a provider that cannot answer now, e.g.
	// because its process died or its key set cannot be fetched. The host
	// fails closed.
	ErrUnavailable = errors.New("auth: provider unavailable")
)
