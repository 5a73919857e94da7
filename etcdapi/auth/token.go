package auth

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Info is who a request acts for: a user name, the groups its auth
// provider puts it in (see groups.go), and the auth revision its
// credentials were checked at. The zero value is nobody.
type Info struct {
	User     string
	Groups   []string
	Revision uint64
}

// tokenProvider issues and checks the bearer tokens of --auth-token.
//
// Simple tokens are random strings every member learns when the
// Authenticate entry that made them is applied, and which expire after
// --auth-token-ttl without use; JWTs are signed, carry the user and the
// auth revision, and are checked by signature alone.
type tokenProvider interface {
	// info returns the identity token stands for; revision is the current
	// auth revision, which simple tokens take on.
	info(ctx context.Context, token string, revision uint64) (Info, bool)
	// prefix returns what an Authenticate proposal carries to name the
	// token its apply makes, or "" if the provider makes no token there.
	prefix() (string, error)
	// register is called when an Authenticate entry is applied: it returns
	// the token made from prefix and the entry's index, if any.
	register(user, prefix string, index uint64) string
	// sign makes a token for user at revision once the Authenticate
	// entry has applied, for providers that sign rather than register.
	sign(user string, revision uint64) (string, error)
	enable()
	disable()
	// invalidateUser forgets the tokens of a deleted user or changed
	// password.
	invalidateUser(user string)
}

// TokenOptions configure the token provider (--auth-token and
// --auth-token-ttl).
type TokenOptions struct {
	// Spec is --auth-token: "simple" (the default when empty), or
	// "jwt,pub-key=…,priv-key=…,sign-method=…,ttl=…".
	Spec string
	// SimpleTTL is how long an unused simple token lives; 0 means 300 s.
	SimpleTTL time.Duration
}

const (
	tokenTypeSimple = "simple"
	tokenTypeJWT    = "jwt"
)

// splitTokenSpec splits an --auth-token value into the type and its
// key=value options.
func splitTokenSpec(spec string) (string, map[string]string, error) {
	parts := strings.Split(spec, ",")
	opts := make(map[string]string)
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, "=")
		if !ok || strings.Contains(v, "=") {
			return "", nil, fmt.Errorf("%w: %q is not key=value", ErrInvalidAuthOpts, p)
		}
		if _, dup := opts[k]; dup {
			return "", nil, fmt.Errorf("%w: %q given twice", ErrInvalidAuthOpts, k)
		}
		opts[k] = v
	}
	return parts[0], opts, nil
}

// newTokenProvider builds the provider opts name. waitApplied blocks
// until the member has applied a raft index, so a simple token is known
// on the member that checks it.
func newTokenProvider(lg *zap.Logger, opts TokenOptions, waitApplied func(context.Context, uint64) error) (tokenProvider, error) {
	spec := opts.Spec
	if spec == "" {
		spec = tokenTypeSimple
	}
	typ, kv, err := splitTokenSpec(spec)
	if err != nil {
		return nil, err
	}
	switch typ {
	case tokenTypeSimple:
		lg.Warn("simple token is not cryptographically signed")
		return newSimpleTokens(opts.SimpleTTL, time.Now, waitApplied), nil
	case tokenTypeJWT:
		return newJWTTokens(lg, kv)
	}
	return nil, fmt.Errorf("%w: unknown token type %q", ErrInvalidAuthOpts, typ)
}

const tokenLetters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// randomLetters returns n random letters, as simple tokens are made of.
func randomLetters(n int) (string, error) {
	b := make([]byte, n)
	max := big.NewInt(int64(len(tokenLetters)))
	for i := range b {
		x, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		b[i] = tokenLetters[x.Int64()]
	}
	return string(b), nil
}
