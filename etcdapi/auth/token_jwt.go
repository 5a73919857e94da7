package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap"
)

// jwtDefaultTTL is etcd's default life of a JWT.
const jwtDefaultTTL = 5 * time.Minute

// jwtTokens signs and checks JWTs with the claims etcd uses: "username",
// "revision" (the auth revision at sign time) and "exp". With only a
// public key, it checks tokens signed elsewhere and signs none.
type jwtTokens struct {
	lg         *zap.Logger
	method     jwt.SigningMethod
	signKey    any // nil when verify-only
	verifyKey  any
	ttl        time.Duration
	verifyOnly bool

	// verified caches tokens whose signature checked out, until they
	// expire: verifying an ES256 or RS256 signature costs tens of
	// microseconds, on every request that carries the token.
	mu       sync.RWMutex
	verified map[string]verifiedJWT
}

type verifiedJWT struct {
	ai      Info
	expires time.Time
}

// maxVerifiedJWTs bounds the cache; when full it starts over.
const maxVerifiedJWTs = 8192

// ErrVerifyOnly is returned by Authenticate when the JWT provider has only
// a public key.
var ErrVerifyOnly = errors.New("auth: token signing attempted with verify-only key")

func newJWTTokens(lg *zap.Logger, opts map[string]string) (*jwtTokens, error) {
	t := &jwtTokens{lg: lg, ttl: jwtDefaultTTL, verified: make(map[string]verifiedJWT)}
	for k := range opts {
		switch k {
		case "sign-method", "pub-key", "priv-key", "ttl":
		default:
			lg.Warn("unknown JWT option", zap.String("option", k))
		}
	}
	if v := opts["ttl"]; v != "" {
		ttl, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("%w: ttl: %v", ErrInvalidAuthOpts, err)
		}
		t.ttl = ttl
	}
	t.method = jwt.GetSigningMethod(opts["sign-method"])
	if t.method == nil {
		return nil, fmt.Errorf("%w: invalid auth signature method %q", ErrInvalidAuthOpts, opts["sign-method"])
	}
	priv, err := readKeyFile(opts["priv-key"])
	if err != nil {
		return nil, err
	}
	pub, err := readKeyFile(opts["pub-key"])
	if err != nil {
		return nil, err
	}
	if err := t.parseKeys(priv, pub); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidAuthOpts, err)
	}
	return t, nil
}

func readKeyFile(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidAuthOpts, err)
	}
	return b, nil
}

// parseKeys sets the signing and checking keys from PEM data, refusing a
// public key that does not match the private one.
func (t *jwtTokens) parseKeys(priv, pub []byte) error {
	if _, ok := t.method.(*jwt.SigningMethodHMAC); ok {
		if len(priv) == 0 {
			return errors.New("missing key data")
		}
		t.signKey, t.verifyKey = priv, priv
		return nil
	}
	var parsePriv func([]byte) (crypto.PrivateKey, error)
	var parsePub func([]byte) (crypto.PublicKey, error)
	switch t.method.(type) {
	case *jwt.SigningMethodRSA, *jwt.SigningMethodRSAPSS:
		parsePriv = func(b []byte) (crypto.PrivateKey, error) { return jwt.ParseRSAPrivateKeyFromPEM(b) }
		parsePub = func(b []byte) (crypto.PublicKey, error) { return jwt.ParseRSAPublicKeyFromPEM(b) }
	case *jwt.SigningMethodECDSA:
		parsePriv = func(b []byte) (crypto.PrivateKey, error) { return jwt.ParseECPrivateKeyFromPEM(b) }
		parsePub = func(b []byte) (crypto.PublicKey, error) { return jwt.ParseECPublicKeyFromPEM(b) }
	case *jwt.SigningMethodEd25519:
		parsePriv = jwt.ParseEdPrivateKeyFromPEM
		parsePub = jwt.ParseEdPublicKeyFromPEM
	default:
		return fmt.Errorf("unsupported signing method %s", t.method.Alg())
	}
	var pubKey crypto.PublicKey
	if len(pub) > 0 {
		k, err := parsePub(pub)
		if err != nil {
			return err
		}
		pubKey = k
	}
	if len(priv) == 0 {
		if pubKey == nil {
			return errors.New("missing key data")
		}
		t.verifyKey, t.verifyOnly = pubKey, true
		return nil
	}
	k, err := parsePriv(priv)
	if err != nil {
		return err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return fmt.Errorf("private key of type %T cannot sign", k)
	}
	if pubKey != nil && !publicKeysEqual(pubKey, signer.Public()) {
		return errors.New("public and private keys don't match")
	}
	t.signKey, t.verifyKey = k, signer.Public()
	return nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	switch k := a.(type) {
	case *rsa.PublicKey:
		return k.Equal(b)
	case *ecdsa.PublicKey:
		return k.Equal(b)
	case ed25519.PublicKey:
		return k.Equal(b)
	}
	return false
}

func (t *jwtTokens) prefix() (string, error)                { return "", nil }
func (t *jwtTokens) register(string, string, uint64) string { return "" }
func (t *jwtTokens) enable()                                {}
func (t *jwtTokens) disable()                               {}
func (t *jwtTokens) invalidateUser(string)                  {}

func (t *jwtTokens) sign(user string, revision uint64) (string, error) {
	if t.verifyOnly {
		return "", ErrVerifyOnly
	}
	tk := jwt.NewWithClaims(t.method, jwt.MapClaims{
		"username": user,
		"revision": revision,
		"exp":      time.Now().Add(t.ttl).Unix(),
	})
	return tk.SignedString(t.signKey)
}

func (t *jwtTokens) info(_ context.Context, token string, _ uint64) (Info, bool) {
	now := time.Now()
	t.mu.RLock()
	v, ok := t.verified[token]
	t.mu.RUnlock()
	if ok && now.Before(v.expires) {
		return v.ai, true
	}
	ai, expires, ok := t.verify(token)
	if ok && !expires.IsZero() {
		t.mu.Lock()
		if len(t.verified) >= maxVerifiedJWTs {
			t.verified = make(map[string]verifiedJWT)
		}
		t.verified[token] = verifiedJWT{ai: ai, expires: expires}
		t.mu.Unlock()
	}
	return ai, ok
}

// verify checks token's signature, method and expiry and returns its
// identity and expiry time (zero if it has none).
func (t *jwtTokens) verify(token string) (Info, time.Time, bool) {
	parsed, err := jwt.Parse(token, func(tk *jwt.Token) (any, error) {
		if tk.Method.Alg() != t.method.Alg() {
			return nil, errors.New("invalid signing method")
		}
		return t.verifyKey, nil
	}, jwt.WithValidMethods([]string{t.method.Alg()}))
	if err != nil {
		t.lg.Warn("failed to parse a JWT token", zap.Error(err))
		return Info{}, time.Time{}, false
	}
	claims, ok := parsed.Claims.(jwt.MapClaims)
	if !parsed.Valid || !ok {
		return Info{}, time.Time{}, false
	}
	user, ok := claims["username"].(string)
	if !ok {
		return Info{}, time.Time{}, false
	}
	rev, ok := claims["revision"].(float64)
	if !ok {
		return Info{}, time.Time{}, false
	}
	var expires time.Time
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		expires = exp.Time
	}
	return Info{User: user, Revision: uint64(rev)}, expires, true
}
