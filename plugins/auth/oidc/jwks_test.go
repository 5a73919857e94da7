package oidc_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/auth"
	"github.com/metastore/metastore/pluginapi/auth/authtest"
	"github.com/metastore/metastore/plugins/auth/oidc"
)

// jwksServer serves a key set over TLS on 127.0.0.1 and counts fetches;
// down makes it answer 503.
type jwksServer struct {
	srv    *httptest.Server
	caFile string

	mu      sync.Mutex
	keys    map[string]*rsa.PrivateKey
	down    bool
	fetches int
}

func newJWKSServer(t *testing.T) *jwksServer {
	t.Helper()
	js := &jwksServer{keys: make(map[string]*rsa.PrivateKey)}
	js.srv = httptest.NewTLSServer(http.HandlerFunc(js.serve))
	t.Cleanup(js.srv.Close)
	js.caFile = filepath.Join(t.TempDir(), "ca.pem")
	crt := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: js.srv.Certificate().Raw})
	require.NoError(t, os.WriteFile(js.caFile, crt, 0o600))
	return js
}

func (js *jwksServer) serve(w http.ResponseWriter, _ *http.Request) {
	js.mu.Lock()
	defer js.mu.Unlock()
	js.fetches++
	if js.down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	var set []map[string]string
	for kid, k := range js.keys {
		set = append(set, map[string]string{"kty": "RSA", "kid": kid, "use": "sig",
			"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"keys": set})
}

// publish makes the set hold exactly keys, by key id.
func (js *jwksServer) publish(keys map[string]*rsa.PrivateKey) {
	js.mu.Lock()
	defer js.mu.Unlock()
	js.keys = keys
}

func (js *jwksServer) setDown(down bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	js.down = down
}

func (js *jwksServer) url() string { return js.srv.URL + "/jwks" }

func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return k
}

func signRS256(t *testing.T, key *rsa.PrivateKey, kid string) string {
	t.Helper()
	tk := jwt.NewWithClaims(jwt.SigningMethodRS256, claims(nil))
	tk.Header["kid"] = kid
	s, err := tk.SignedString(key)
	require.NoError(t, err)
	return s
}

// recordingLogger keeps the warnings it is given.
type recordingLogger struct {
	mu    sync.Mutex
	warns []string
}

func (l *recordingLogger) Info(string, ...any) {}
func (l *recordingLogger) Warn(msg string, _ ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.warns = append(l.warns, msg)
}

func (l *recordingLogger) warned() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.warns)
}

func verify(p auth.Provider, token string) error {
	_, err := p.VerifyToken(context.Background(), auth.VerifyTokenRequest{Token: token})
	return err
}

// The key set of a URL passes the same checks as one from a file.
func TestOIDCKeySetFromURL(t *testing.T) {
	is := newIssuer(t)
	raw, err := os.ReadFile(is.jwks)
	require.NoError(t, err)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(raw) }))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))

	p, err := oidc.New(oidc.Config{JWKSURL: srv.URL, JWKSCAFile: caFile, Issuer: "https://idp.example", Audience: "metastore"})
	require.NoError(t, err)
	defer p.Close()
	authtest.Run(t, fixture(t, is, func(*testing.T) auth.Provider { return p }))

	for name, cfg := range map[string]oidc.Config{
		"plain http":        {JWKSURL: strings.Replace(srv.URL, "https", "http", 1)},
		"file and URL both": {JWKSURL: srv.URL, JWKSFile: is.jwks},
		"neither":           {},
		"missing CA file":   {JWKSURL: srv.URL, JWKSCAFile: filepath.Join(t.TempDir(), "none.pem")},
	} {
		_, err := oidc.New(cfg)
		require.ErrorIs(t, err, oidc.ErrConfig, name)
	}

	// Without the CA, the server is not trusted: nothing is fetched, and
	// tokens get "cannot tell", not "forged".
	lg := &recordingLogger{}
	untrusted, err := oidc.New(oidc.Config{JWKSURL: srv.URL, Logger: lg})
	require.NoError(t, err)
	defer untrusted.Close()
	require.ErrorIs(t, verify(untrusted, is.token(t, jwt.SigningMethodRS256, "r1", claims(nil))), auth.ErrUnavailable)
	require.Positive(t, lg.warned(), "the failed fetch is logged")
}

// Key rotation: a new key id is fetched when a token first names it; a
// removed key stops verifying after the next refresh; unknown key ids are
// fetched at most once per refetch interval; a dead key set URL keeps the
// last good keys.
func TestOIDCKeySetRotation(t *testing.T) {
	js := newJWKSServer(t)
	k1, k2 := rsaKey(t), rsaKey(t)
	js.publish(map[string]*rsa.PrivateKey{"k1": k1})
	lg := &recordingLogger{}
	p, err := oidc.New(oidc.Config{
		JWKSURL: js.url(), JWKSCAFile: js.caFile, Issuer: "https://idp.example", Audience: "metastore",
		JWKSRefreshInterval: 200 * time.Millisecond, JWKSRefetchInterval: 50 * time.Millisecond, Logger: lg,
	})
	require.NoError(t, err)
	defer p.Close()

	old, rotated := signRS256(t, k1, "k1"), signRS256(t, k2, "k2")
	require.NoError(t, verify(p, old))
	require.ErrorIs(t, verify(p, rotated), auth.ErrInvalidToken, "k2 is not published yet")

	js.publish(map[string]*rsa.PrivateKey{"k1": k1, "k2": k2})
	require.Eventually(t, func() bool { return verify(p, rotated) == nil }, 10*time.Second, 20*time.Millisecond,
		"the new key is fetched when a token names it")
	require.NoError(t, verify(p, old), "both keys verify during the rotation")

	js.publish(map[string]*rsa.PrivateKey{"k2": k2})
	require.Eventually(t, func() bool { return verify(p, old) != nil }, 10*time.Second, 20*time.Millisecond,
		"the removed key stops verifying after a refresh")
	require.ErrorIs(t, verify(p, old), auth.ErrInvalidToken)
	require.NoError(t, verify(p, rotated))

	// Made-up key ids cause at most one fetch per refetch interval (and
	// one per refresh), however many tokens name them.
	js.mu.Lock()
	before := js.fetches
	js.mu.Unlock()
	start := time.Now()
	for i := 0; i < 200; i++ {
		require.ErrorIs(t, verify(p, signRS256(t, k2, "made-up")), auth.ErrInvalidToken)
	}
	elapsed := time.Since(start)
	js.mu.Lock()
	fetched := js.fetches - before
	js.mu.Unlock()
	limit := int(elapsed/(50*time.Millisecond)) + int(elapsed/(200*time.Millisecond)) + 2
	require.LessOrEqual(t, fetched, limit, "%d fetches in %v", fetched, elapsed)

	// The key set URL dies: the last good keys keep verifying, the
	// failures are logged, and a key it cannot fetch is "cannot tell".
	js.setDown(true)
	warned := lg.warned()
	require.Eventually(t, func() bool { return lg.warned() > warned }, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, verify(p, rotated), "the last good keys are kept")
	require.ErrorIs(t, verify(p, signRS256(t, k1, "k3")), auth.ErrUnavailable)
	js.setDown(false)
}
