package oidc

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/metastore/metastore/pluginapi/auth"
)

// Config configures the provider. Exactly one of JWKSFile, JWKSURL and
// Discovery names the key set.
type Config struct {
	// JWKSFile is a JSON Web Key Set document (RSA, EC P-256/P-384/P-521
	// and Ed25519 keys), read once.
	JWKSFile string
	// JWKSURL is an https URL serving the key set (an identity provider's
	// jwks_uri), fetched at start, every JWKSRefreshInterval (default
	// 15m), and when a token names an unknown key, at most once per
	// JWKSRefetchInterval (default 10s). See jwks.go.
	JWKSURL             string
	JWKSRefreshInterval time.Duration
	JWKSRefetchInterval time.Duration
	// Discovery takes the key set URL from Issuer's OpenID Connect
	// discovery document (Issuer + "/.well-known/openid-configuration",
	// whose "issuer" must be Issuer), then fetches it as JWKSURL. The
	// document is read at start and, until it has been read, before each
	// fetch of the key set.
	Discovery bool
	// JWKSCAFile holds the PEM certificates that verify the servers of
	// JWKSURL and of the discovery document; empty means the system's
	// roots.
	JWKSCAFile string
	// Issuer, when set, must equal the token's "iss".
	Issuer string
	// Audience, when set, must be in the token's "aud".
	Audience string
	// UserClaim names the claim that is the user; default "sub".
	UserClaim string
	// GroupsClaim names the claim listing the user's groups; default
	// "groups". A token without it has no groups.
	GroupsClaim string
	// Leeway tolerates clock skew on exp and nbf.
	Leeway time.Duration
	// Logger logs key set fetches; nil logs nothing.
	Logger Logger
}

// ErrConfig reports a configuration the provider cannot run with.
var ErrConfig = errors.New("oidc: invalid configuration")

// Provider verifies OIDC tokens.
type Provider struct {
	cfg    Config
	keys   *keySet
	parser *jwt.Parser
}

var _ auth.Provider = (*Provider)(nil)

// New reads or fetches the key set and returns the provider. A key set
// URL that cannot be fetched yet is no error: the provider answers
// ErrUnavailable until it can. Close stops its refreshes.
func New(cfg Config) (*Provider, error) {
	if cfg.UserClaim == "" {
		cfg.UserClaim = "sub"
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	if cfg.Logger == nil {
		cfg.Logger = nopLogger{}
	}
	var keys *keySet
	var err error
	switch {
	case countSet(cfg.JWKSFile != "", cfg.JWKSURL != "", cfg.Discovery) != 1:
		err = fmt.Errorf("%w: name the key set by exactly one of a file, a URL and discovery", ErrConfig)
	case cfg.JWKSFile != "":
		keys, err = fileKeySet(cfg.JWKSFile)
	default:
		keys, err = urlKeySet(cfg, cfg.Logger)
	}
	if err != nil {
		return nil, err
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(cfg.Leeway),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	return &Provider{cfg: cfg, keys: keys, parser: jwt.NewParser(opts...)}, nil
}

func countSet(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// Close stops refreshing a key set fetched from a URL.
func (p *Provider) Close() { p.keys.close() }

// Info names the provider.
func (p *Provider) Info(context.Context) (auth.InfoResponse, error) {
	return auth.InfoResponse{Name: "oidc", Version: "1", Capabilities: []string{auth.CapabilityToken}}, nil
}

// Authenticate is not supported: an OIDC user signs in at the identity
// provider, not here.
func (p *Provider) Authenticate(context.Context, auth.AuthenticateRequest) (auth.AuthenticateResponse, error) {
	return auth.AuthenticateResponse{}, fmt.Errorf("%w: oidc takes tokens, not passwords", auth.ErrNotSupported)
}

// VerifyToken checks the token's signature, issuer, audience and expiry
// and returns the user and groups its claims name.
func (p *Provider) VerifyToken(ctx context.Context, req auth.VerifyTokenRequest) (auth.VerifyTokenResponse, error) {
	claims := jwt.MapClaims{}
	_, err := p.parser.ParseWithClaims(req.Token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return p.keys.key(ctx, kid)
	})
	switch {
	case errors.Is(err, auth.ErrUnavailable):
		return auth.VerifyTokenResponse{}, err
	case err != nil:
		return auth.VerifyTokenResponse{}, fmt.Errorf("%w: %w", auth.ErrInvalidToken, err)
	}
	user, _ := claims[p.cfg.UserClaim].(string)
	if user == "" {
		return auth.VerifyTokenResponse{}, fmt.Errorf("%w: no %q claim", auth.ErrInvalidToken, p.cfg.UserClaim)
	}
	id := auth.Identity{User: user}
	if groups, ok := claims[p.cfg.GroupsClaim].([]any); ok {
		for _, g := range groups {
			if s, ok := g.(string); ok {
				id.Groups = append(id.Groups, s)
			}
		}
	}
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		id.Expires = exp.Time
	}
	return auth.VerifyTokenResponse{Identity: id}, nil
}

// parseJWKS reads the public signing keys of a JSON Web Key Set (RFC
// 7517) with go-jose, by key id: RSA, EC (P-256, P-384, P-521; a point
// off its curve is refused) and Ed25519 keys. Keys for encryption ("use":
// "enc") are left out; a private key contributes its public half.
func parseJWKS(raw []byte) (map[string]crypto.PublicKey, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, err
	}
	keys := make(map[string]crypto.PublicKey)
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		pub := k.Public()
		if !pub.Valid() {
			return nil, fmt.Errorf("key %q: not a valid public key", k.KeyID)
		}
		keys[k.KeyID] = pub.Key
	}
	if len(keys) == 0 {
		return nil, errors.New("no signing key")
	}
	return keys, nil
}

// ConfigFromEnv reads the configuration a plugin process is given:
// METASTORE_OIDC_JWKS_FILE or METASTORE_OIDC_JWKS_URL (with
// METASTORE_OIDC_JWKS_CA_FILE, METASTORE_OIDC_JWKS_REFRESH_INTERVAL and
// METASTORE_OIDC_JWKS_REFETCH_INTERVAL), or METASTORE_OIDC_DISCOVERY=true
// (the key set URL from the issuer's discovery document), METASTORE_OIDC_ISSUER,
// METASTORE_OIDC_AUDIENCE, METASTORE_OIDC_USER_CLAIM,
// METASTORE_OIDC_GROUPS_CLAIM and METASTORE_OIDC_LEEWAY. Durations are Go
// durations ("90s").
func ConfigFromEnv() (Config, error) {
	cfg := Config{
		JWKSFile:    os.Getenv("METASTORE_OIDC_JWKS_FILE"),
		JWKSURL:     os.Getenv("METASTORE_OIDC_JWKS_URL"),
		JWKSCAFile:  os.Getenv("METASTORE_OIDC_JWKS_CA_FILE"),
		Issuer:      os.Getenv("METASTORE_OIDC_ISSUER"),
		Audience:    os.Getenv("METASTORE_OIDC_AUDIENCE"),
		UserClaim:   os.Getenv("METASTORE_OIDC_USER_CLAIM"),
		GroupsClaim: os.Getenv("METASTORE_OIDC_GROUPS_CLAIM"),
	}
	if v := os.Getenv("METASTORE_OIDC_DISCOVERY"); v != "" {
		d, err := strconv.ParseBool(v)
		if err != nil {
			return cfg, fmt.Errorf("%w: METASTORE_OIDC_DISCOVERY: %w", ErrConfig, err)
		}
		cfg.Discovery = d
	}
	for _, d := range []struct {
		env string
		to  *time.Duration
	}{
		{"METASTORE_OIDC_LEEWAY", &cfg.Leeway},
		{"METASTORE_OIDC_JWKS_REFRESH_INTERVAL", &cfg.JWKSRefreshInterval},
		{"METASTORE_OIDC_JWKS_REFETCH_INTERVAL", &cfg.JWKSRefetchInterval},
	} {
		v := os.Getenv(d.env)
		if v == "" {
			continue
		}
		dur, err := time.ParseDuration(v)
		if err != nil {
			return cfg, fmt.Errorf("%w: %s: %w", ErrConfig, d.env, err)
		}
		*d.to = dur
	}
	return cfg, nil
}
