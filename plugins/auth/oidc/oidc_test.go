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
	"github.com/metastore/metastore/pluginapi/auth/authtest"
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

// fixture is the authtest fixture of a provider built on is by newProvider:
// tokens from both of is's keys, and the tokens an OIDC provider must
// refuse beyond the malformed ones the suite makes.
func fixture(t *testing.T, is *issuer, newProvider func(t *testing.T) auth.Provider) authtest.Fixture {
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	withExp := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		return claims(func(c jwt.MapClaims) {
			c["exp"] = exp.Unix()
			if mod != nil {
				mod(c)
			}
		})
	}
	want := auth.Identity{User: "alice", Groups: []string{"tenant-a", "ops"}, Expires: exp}
	good := is.token(t, jwt.SigningMethodRS256, "r1", withExp(nil))
	parts := strings.Split(good, ".")
	return authtest.Fixture{
		New: newProvider,
		Tokens: []authtest.Token{
			{Token: good, Want: want},
			{Token: is.token(t, jwt.SigningMethodES256, "e1", withExp(nil)), Want: want},
		},
		RejectedTokens: []string{
			is.token(t, jwt.SigningMethodRS256, "r1", withExp(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })),
			is.token(t, jwt.SigningMethodRS256, "r1", withExp(func(c jwt.MapClaims) { c["aud"] = "someone-else" })),
			is.token(t, jwt.SigningMethodRS256, "r1", withExp(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() })),
			is.token(t, jwt.SigningMethodRS256, "r1", withExp(func(c jwt.MapClaims) { delete(c, "exp") })),
			is.token(t, jwt.SigningMethodRS256, "r1", withExp(func(c jwt.MapClaims) { delete(c, "sub") })),
			is.token(t, jwt.SigningMethodRS256, "r9", withExp(nil)), // unknown key
			is.token(t, jwt.SigningMethodES256, "r1", withExp(nil)), // the RSA key's id on an EC signature
			parts[0] + "." + b64([]byte(`{"sub":"root","aud":"metastore","iss":"https://idp.example","exp":9999999999}`)) + "." + parts[2],
			b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".",
		},
	}
}

func newInProcess(is *issuer) func(t *testing.T) auth.Provider {
	return func(t *testing.T) auth.Provider {
		p, err := oidc.New(oidc.Config{JWKSFile: is.jwks, Issuer: "https://idp.example", Audience: "metastore"})
		require.NoError(t, err)
		t.Cleanup(p.Close)
		return p
	}
}

func TestOIDCInProcess(t *testing.T) {
	is := newIssuer(t)
	authtest.Run(t, fixture(t, is, newInProcess(is)))

	_, err := oidc.New(oidc.Config{JWKSFile: filepath.Join(t.TempDir(), "missing.json")})
	require.ErrorIs(t, err, oidc.ErrConfig)
}

func TestOIDCOverGRPC(t *testing.T) {
	is := newIssuer(t)
	inProcess := newInProcess(is)
	authtest.Run(t, fixture(t, is, func(t *testing.T) auth.Provider { return authtest.OverGRPC(t, inProcess(t)) }))
}

// The provider as a real plugin process, through the plugin protocol.
func TestOIDCPluginProcess(t *testing.T) {
	bin := authtest.BuildPlugin(t, "github.com/metastore/metastore/cmd/metastore-auth-oidc")
	is := newIssuer(t)
	env := []string{
		"METASTORE_OIDC_JWKS_FILE=" + is.jwks,
		"METASTORE_OIDC_ISSUER=https://idp.example",
		"METASTORE_OIDC_AUDIENCE=metastore",
	}
	authtest.Run(t, fixture(t, is, func(t *testing.T) auth.Provider { return authtest.LaunchPlugin(t, bin, env...) }))

	// A dead provider fails closed.
	proc, err := auth.Launch(pluginrpc.ClientConfig{Cmd: pluginCommand(bin, env), Logger: hclog.NewNullLogger()})
	require.NoError(t, err)
	p := proc.Provider()
	proc.Kill()
	good := is.token(t, jwt.SigningMethodRS256, "r1", claims(nil))
	_, err = p.VerifyToken(context.Background(), auth.VerifyTokenRequest{Token: good})
	require.ErrorIs(t, err, auth.ErrUnavailable)
}

func pluginCommand(bin string, env []string) *exec.Cmd {
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), env...)
	return cmd
}
