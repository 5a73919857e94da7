package oidc_test

import (
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/auth"
	"github.com/metastore/metastore/plugins/auth/oidc"
)

// discoveryServer is an identity provider over TLS that serves its
// discovery document, naming issuer (its own URL unless set), and its key
// set at /keys.
func discoveryServer(t *testing.T, jwks []byte, issuer string) (url, caFile string) {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			iss := issuer
			if iss == "" {
				iss = srv.URL
			}
			_ = json.NewEncoder(w).Encode(map[string]any{
				"issuer": iss, "jwks_uri": srv.URL + "/keys",
				"authorization_endpoint": srv.URL + "/auth", "token_endpoint": srv.URL + "/token",
				"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
			})
		case "/keys":
			_, _ = w.Write(jwks)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	return srv.URL, caFile
}

// With discovery, the key set URL is the jwks_uri of the issuer's
// discovery document; a document naming another issuer is refused, and
// tokens are then "cannot tell".
func TestOIDCDiscovery(t *testing.T) {
	is := newIssuer(t)
	raw, err := os.ReadFile(is.jwks)
	require.NoError(t, err)
	issuerURL, caFile := discoveryServer(t, raw, "")
	p, err := oidc.New(oidc.Config{Discovery: true, Issuer: issuerURL, JWKSCAFile: caFile, Audience: "metastore"})
	require.NoError(t, err)
	defer p.Close()
	token := is.token(t, jwt.SigningMethodRS256, "r1", claims(func(c jwt.MapClaims) { c["iss"] = issuerURL }))
	resp, err := p.VerifyToken(t.Context(), auth.VerifyTokenRequest{Token: token})
	require.NoError(t, err)
	require.Equal(t, "alice", resp.Identity.User)
	require.ErrorIs(t, verify(p, is.token(t, jwt.SigningMethodRS256, "r1", claims(nil))), auth.ErrInvalidToken,
		"the token of another issuer")

	otherURL, otherCA := discoveryServer(t, raw, "https://impostor.example")
	lg := &recordingLogger{}
	impostor, err := oidc.New(oidc.Config{Discovery: true, Issuer: otherURL, JWKSCAFile: otherCA, Logger: lg})
	require.NoError(t, err)
	defer impostor.Close()
	require.ErrorIs(t, verify(impostor, is.token(t, jwt.SigningMethodRS256, "r1", claims(func(c jwt.MapClaims) { c["iss"] = otherURL }))),
		auth.ErrUnavailable)
	require.Positive(t, lg.warned(), "the failed discovery is logged")

	for name, cfg := range map[string]oidc.Config{
		"no issuer":            {Discovery: true},
		"plain http issuer":    {Discovery: true, Issuer: "http://idp.example"},
		"discovery and a file": {Discovery: true, Issuer: issuerURL, JWKSFile: is.jwks},
		"discovery and a URL":  {Discovery: true, Issuer: issuerURL, JWKSURL: issuerURL + "/keys"},
	} {
		_, err := oidc.New(cfg)
		require.ErrorIs(t, err, oidc.ErrConfig, name)
	}
}
