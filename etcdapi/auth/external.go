package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	authplugin "github.com/metastore/metastore/pluginapi/auth"
)

// externalTokens verifies bearer tokens the member did not issue with an
// external auth provider (an OIDC identity provider's JWTs, say). The
// identity's user is then checked against etcd's users and roles like any
// other, together with the roles granted to its groups (groups.go).
// Verified identities are cached until they expire or the auth revision
// changes, so a call across the plugin boundary is made once per token,
// and identities already verified keep working while the provider is down;
// a token it has not verified yet is refused (fail closed).
type externalTokens struct {
	provider authplugin.Provider

	mu    sync.Mutex
	cache map[string]externalIdentity
}

type externalIdentity struct {
	user     string
	groups   []string
	revision uint64 // the auth revision it was verified at
	expires  time.Time
}

// externalCacheTTL bounds how long an identity without an expiry is kept.
const externalCacheTTL = time.Minute

// maxExternalIdentities bounds the cache; when full it starts over.
const maxExternalIdentities = 8192

func newExternalTokens(p authplugin.Provider) *externalTokens {
	return &externalTokens{provider: p, cache: make(map[string]externalIdentity)}
}

// verify returns the identity of token at auth revision rev.
func (e *externalTokens) verify(ctx context.Context, token string, rev uint64) (Info, error) {
	now := time.Now()
	e.mu.Lock()
	id, ok := e.cache[token]
	e.mu.Unlock()
	if ok && id.revision == rev && now.Before(id.expires) {
		return Info{User: id.user, Groups: id.groups, Revision: rev}, nil
	}
	resp, err := e.provider.VerifyToken(ctx, authplugin.VerifyTokenRequest{Token: token})
	switch {
	case errors.Is(err, authplugin.ErrUnavailable):
		return Info{}, fmt.Errorf("%w: %w", ErrAuthUnavailable, err)
	case err != nil || resp.Identity.User == "" || isGroupUser(resp.Identity.User):
		return Info{}, ErrInvalidAuthToken
	}
	groups := slices.Clone(resp.Identity.Groups)
	slices.Sort(groups)
	groups = slices.Compact(groups)
	expires := now.Add(externalCacheTTL)
	if x := resp.Identity.Expires; !x.IsZero() && x.Before(expires) {
		expires = x
	}
	e.mu.Lock()
	if len(e.cache) >= maxExternalIdentities {
		e.cache = make(map[string]externalIdentity)
	}
	e.cache[token] = externalIdentity{user: resp.Identity.User, groups: groups, revision: rev, expires: expires}
	e.mu.Unlock()
	return Info{User: resp.Identity.User, Groups: groups, Revision: rev}, nil
}
