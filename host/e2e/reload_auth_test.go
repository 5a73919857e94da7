package e2e

import (
	"context"
	"crypto/rsa"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/metastore/metastore/host/hosttest"
)

// The oidc plugin's settings change on a config file write, without a
// restart: tokens signed by the new key set verify, those of the old one
// no longer do. A storage engine change in the same write is refused and
// logged; SIGHUP-free, the member keeps serving.
func TestReloadAuthProviderPlugin(t *testing.T) {
	dir := t.TempDir()
	bin, _ := buildOIDCPlugin(t, dir)
	sum := fileSum(t, bin)
	jwks1, key1 := writeJWKS(t, dir, "jwks1.json")
	jwks2, key2 := writeJWKS(t, dir, "jwks2.json")
	token := func(key *rsa.PrivateKey, sub string, ttl time.Duration) string {
		tk := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
			"iss": "https://idp.example", "aud": "metastore", "sub": sub, "exp": time.Now().Add(ttl).Unix()})
		tk.Header["kid"] = "k1"
		s, err := tk.SignedString(key)
		require.NoError(t, err)
		return s
	}
	cfgFile := filepath.Join(dir, "metastore.yaml")
	write := func(jwks, engine string) {
		t.Helper()
		tmp := cfgFile + ".tmp"
		require.NoError(t, os.WriteFile(tmp, []byte(fmt.Sprintf(`auth-provider: oidc
storage-engine: %s
plugins:
  - kind: auth
    name: oidc
    path: %s
    sha256: %s
    env:
      METASTORE_OIDC_JWKS_FILE: %s
      METASTORE_OIDC_ISSUER: https://idp.example
      METASTORE_OIDC_AUDIENCE: metastore
`, engine, bin, sum, jwks)), 0o600))
		require.NoError(t, os.Rename(tmp, cfgFile))
	}
	write(jwks1, "bbolt")
	m := hosttest.StartMember(t, hosttest.WithArgs(append([]string{"--config-file", cfgFile}, authArgs...)...))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := dialRaw(t, m)
	setupAlice(ctx, t, c)
	require.NoError(t, c.put(ctx, token(key1, "alice", time.Hour), "/a/1"))
	require.Equal(t, codes.Unauthenticated, status.Code(c.get(ctx, token(key2, "alice", time.Hour), "/a/1")))

	write(jwks2, "memory")
	waitOutput(t, m, `"msg":"config reloaded: auth provider plugin replaced"`, 1)
	waitOutput(t, m, `"msg":"config change refused: these settings cannot change while the member runs; restart the member to apply them","trigger":"config file changed","settings":["storage-engine"]`, 1)
	require.NoError(t, c.get(ctx, token(key2, "alice", 2*time.Hour), "/a/1"), "the new key set verifies")
	require.Equal(t, codes.Unauthenticated, status.Code(c.get(ctx, token(key1, "alice", 2*time.Hour), "/a/1")),
		"the old key set no longer does")
	require.Equal(t, 1, countChildren(m.Pid(), bin), "the old plugin process ended")
}

// countChildren counts the live child processes of parent running exe.
func countChildren(parent int, exe string) int {
	n := 0
	for _, pid := range hosttest.ChildPids(parent, "") {
		if path, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && path == exe {
			n++
		}
	}
	return n
}
