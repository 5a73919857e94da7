package oidc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/auth"
	"github.com/metastore/metastore/pluginapi/pluginrpc"
	"github.com/metastore/metastore/plugins/auth/oidc"
)

// issuer is a test identity provider: an RSA and an EC key, published as
// a JWKS file.
type issuer struct {
	rsa  *rsa.PrivateKey
	ec   *ecdsa.PrivateKey
	jwks string
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	set := map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "kid": "r1", "use": "sig", "n": b64(rk.N.Bytes()), "e": b64(big.NewInt(int64(rk.E)).Bytes())},
		{"kty": "EC", "kid": "e1", "crv": "P-256", "x": b64(ek.X.FillBytes(make([]byte, 32))), "y": b64(ek.Y.FillBytes(make([]byte, 32)))},
	}}
	raw, err := json.Marshal(set)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "jwks.json")
	require.NoError(t, os.WriteFile(path, raw, 0o600))
	return &issuer{rsa: rk, ec: ek, jwks: path}
}

func (is *issuer) token(t *testing.T, method jwt.SigningMethod, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tk := jwt.NewWithClaims(method, claims)
	tk.Header["kid"] = kid
	var key any = is.rsa
	if _, ok := method.(*jwt.SigningMethodECDSA); ok {
		key = is.ec
	}
	s, err := tk.SignedString(key)
	require.NoError(t, err)
	return s
}

func claims(mod func(jwt.MapClaims)) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss": "https://idp.example", "aud": "metastore", "sub": "alice",
		"groups": []string{"tenant-a", "ops"}, "exp": time.Now().Add(time.Hour).Unix(),
	}
	if mod != nil {
		mod(c)
	}
	return c
}

// conformance runs the token checks against any Provider built on is.
func conformance(t *testing.T, is *issuer, p auth.Provider) {
	ctx := context.Background()
	info, err := p.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, "oidc", info.Name)

	good := is.token(t, jwt.SigningMethodRS256, "r1", claims(nil))
	resp, err := p.VerifyToken(ctx, auth.VerifyTokenRequest{Token: good})
	require.NoError(t, err)
	require.Equal(t, "alice", resp.Identity.User)
	require.Equal(t, []string{"tenant-a", "ops"}, resp.Identity.Groups)
	require.WithinDuration(t, time.Now().Add(time.Hour), resp.Identity.Expires, time.Minute)

	ec := is.token(t, jwt.SigningMethodES256, "e1", claims(nil))
	_, err = p.VerifyToken(ctx, auth.VerifyTokenRequest{Token: ec})
	require.NoError(t, err)

	parts := strings.Split(good, ".")
	for name, tok := range map[string]string{
		"wrong issuer":   is.token(t, jwt.SigningMethodRS256, "r1", claims(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })),
		"wrong audience": is.token(t, jwt.SigningMethodRS256, "r1", claims(func(c jwt.MapClaims) { c["aud"] = "someone-else" })),
		"expired":        is.token(t, jwt.SigningMethodRS256, "r1", claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() })),
		"no expiry":      is.token(t, jwt.SigningMethodRS256, "r1", claims(func(c jwt.MapClaims) { delete(c, "exp") })),
		"no user":        is.token(t, jwt.SigningMethodRS256, "r1", claims(func(c jwt.MapClaims) { delete(c, "sub") })),
		"unknown key":    is.token(t, jwt.SigningMethodRS256, "r9", claims(nil)),
		"wrong key":      is.token(t, jwt.SigningMethodES256, "r1", claims(nil)),
		"tampered":       parts[0] + "." + b64([]byte(`{"sub":"root","aud":"metastore","iss":"https://idp.example","exp":9999999999}`)) + "." + parts[2],
		"unsigned":       b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".",
		"garbage":        "not-a-token",
	} {
		_, err := p.VerifyToken(ctx, auth.VerifyTokenRequest{Token: tok})
		require.ErrorIs(t, err, auth.ErrInvalidToken, name)
	}
	_, err = p.Authenticate(ctx, auth.AuthenticateRequest{User: "alice", Password: "pw"})
	require.ErrorIs(t, err, auth.ErrNotSupported)
}

func TestOIDCInProcess(t *testing.T) {
	is := newIssuer(t)
	p, err := oidc.New(oidc.Config{JWKSFile: is.jwks, Issuer: "https://idp.example", Audience: "metastore"})
	require.NoError(t, err)
	conformance(t, is, p)

	_, err = oidc.New(oidc.Config{JWKSFile: filepath.Join(t.TempDir(), "missing.json")})
	require.ErrorIs(t, err, oidc.ErrConfig)
}

// The provider as a real plugin process, through the plugin protocol.
func TestOIDCPluginProcess(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "metastore-auth-oidc")
	build := exec.Command("go", "build", "-o", bin, "./cmd/metastore-auth-oidc")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))

	is := newIssuer(t)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"METASTORE_OIDC_JWKS_FILE="+is.jwks,
		"METASTORE_OIDC_ISSUER=https://idp.example",
		"METASTORE_OIDC_AUDIENCE=metastore")
	proc, err := auth.Launch(pluginrpc.ClientConfig{Cmd: cmd, Logger: hclog.NewNullLogger()})
	require.NoError(t, err)
	defer proc.Kill()
	conformance(t, is, proc.Provider())

	// A dead provider fails closed.
	p := proc.Provider()
	proc.Kill()
	good := is.token(t, jwt.SigningMethodRS256, "r1", claims(nil))
	_, err = p.VerifyToken(context.Background(), auth.VerifyTokenRequest{Token: good})
	require.ErrorIs(t, err, auth.ErrUnavailable)
}
