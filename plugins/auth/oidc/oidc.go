package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/metastore/metastore/pluginapi/auth"
)

// Config configures the provider.
type Config struct {
	// JWKSFile is a JSON Web Key Set document (RSA, EC P-256/P-384/P-521
	// and Ed25519 keys).
	JWKSFile string
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
}

// ErrConfig reports a configuration the provider cannot run with.
var ErrConfig = errors.New("oidc: invalid configuration")

// Provider verifies OIDC tokens.
type Provider struct {
	cfg    Config
	keys   map[string]crypto.PublicKey // by kid
	parser *jwt.Parser
}

var _ auth.Provider = (*Provider)(nil)

// New reads the key set and returns the provider.
func New(cfg Config) (*Provider, error) {
	if cfg.UserClaim == "" {
		cfg.UserClaim = "sub"
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	raw, err := os.ReadFile(cfg.JWKSFile)
	if err != nil {
		return nil, fmt.Errorf("%w: key set: %w", ErrConfig, err)
	}
	keys, err := parseJWKS(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: key set %s: %w", ErrConfig, cfg.JWKSFile, err)
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
func (p *Provider) VerifyToken(_ context.Context, req auth.VerifyTokenRequest) (auth.VerifyTokenResponse, error) {
	claims := jwt.MapClaims{}
	_, err := p.parser.ParseWithClaims(req.Token, claims, p.key)
	if err != nil {
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

// key picks the key of the token's "kid"; a token without one may be
// signed by the only key of the set.
func (p *Provider) key(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	if k, ok := p.keys[kid]; ok {
		return k, nil
	}
	if kid == "" && len(p.keys) == 1 {
		for _, k := range p.keys {
			return k, nil
		}
	}
	return nil, fmt.Errorf("no key %q in the key set", kid)
}

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parseJWKS reads the public signing keys of a JSON Web Key Set.
func parseJWKS(raw []byte) (map[string]crypto.PublicKey, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, err
	}
	keys := make(map[string]crypto.PublicKey)
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		pub, err := k.publicKey()
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k.Kid, err)
		}
		keys[k.Kid] = pub
	}
	if len(keys) == 0 {
		return nil, errors.New("no signing key")
	}
	return keys, nil
}

func (k jwk) publicKey() (crypto.PublicKey, error) {
	b := func(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
	switch k.Kty {
	case "RSA":
		n, err := b(k.N)
		if err != nil {
			return nil, err
		}
		e, err := b(k.E)
		if err != nil {
			return nil, err
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
	case "EC":
		curves := map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}
		curve, ok := curves[k.Crv]
		if !ok {
			return nil, fmt.Errorf("unsupported curve %q", k.Crv)
		}
		x, err := b(k.X)
		if err != nil {
			return nil, err
		}
		y, err := b(k.Y)
		if err != nil {
			return nil, err
		}
		pub := &ecdsa.PublicKey{Curve: curve, X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
		if !curve.IsOnCurve(pub.X, pub.Y) {
			return nil, errors.New("point not on curve")
		}
		return pub, nil
	case "OKP":
		if k.Crv != "Ed25519" {
			return nil, fmt.Errorf("unsupported curve %q", k.Crv)
		}
		x, err := b(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("bad Ed25519 key")
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, fmt.Errorf("unsupported key type %q", k.Kty)
}

// ConfigFromEnv reads the configuration a plugin process is given:
// METASTORE_OIDC_JWKS_FILE, METASTORE_OIDC_ISSUER, METASTORE_OIDC_AUDIENCE,
// METASTORE_OIDC_USER_CLAIM, METASTORE_OIDC_GROUPS_CLAIM and
// METASTORE_OIDC_LEEWAY (a Go duration).
func ConfigFromEnv() (Config, error) {
	cfg := Config{
		JWKSFile:    os.Getenv("METASTORE_OIDC_JWKS_FILE"),
		Issuer:      os.Getenv("METASTORE_OIDC_ISSUER"),
		Audience:    os.Getenv("METASTORE_OIDC_AUDIENCE"),
		UserClaim:   os.Getenv("METASTORE_OIDC_USER_CLAIM"),
		GroupsClaim: os.Getenv("METASTORE_OIDC_GROUPS_CLAIM"),
	}
	if v := os.Getenv("METASTORE_OIDC_LEEWAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return cfg, fmt.Errorf("%w: METASTORE_OIDC_LEEWAY: %w", ErrConfig, err)
		}
		cfg.Leeway = d
	}
	return cfg, nil
}
