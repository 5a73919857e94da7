package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// The oidc auth provider as a real plugin process behind a member:
// externally issued tokens name etcd users, whose roles apply; forged
// tokens are refused; when the plugin cannot run, tokens it verified keep
// working and others are refused with Unavailable (fail closed).
func TestAuthOIDCProviderPlugin(t *testing.T) {
	dir := t.TempDir()
	bin, code := buildOIDCPlugin(t, dir)
	sum := sha256.Sum256(code)

	jwksFile, token := oidcIssuer(t, dir)

	cfgFile := filepath.Join(dir, "metastore.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(fmt.Sprintf(`auth-provider: oidc
plugins:
  - kind: auth
    name: oidc
    path: %s
    sha256: %s
    env:
      METASTORE_OIDC_JWKS_FILE: %s
      METASTORE_OIDC_ISSUER: https://idp.example
      METASTORE_OIDC_AUDIENCE: metastore
`, bin, hex.EncodeToString(sum[:]), jwksFile)), 0o600))
	m := hosttest.StartMember(t, hosttest.WithArgs(append([]string{"--config-file", cfgFile}, authArgs...)...))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := dialRaw(t, m)
	setupAlice(ctx, t, c)

	alice := token("alice", "metastore", time.Hour)
	require.NoError(t, c.put(ctx, alice, "/a/1"))
	require.Equal(t, codes.PermissionDenied, status.Code(c.put(ctx, alice, "/b/1")))
	require.Equal(t, codes.PermissionDenied, status.Code(c.get(ctx, token("mallory", "metastore", time.Hour), "/a/1")),
		"a verified identity that is no etcd user has no permissions")
	require.Equal(t, codes.Unauthenticated, status.Code(c.get(ctx, token("alice", "elsewhere", time.Hour), "/a/1")))
	require.Equal(t, codes.Unauthenticated, status.Code(c.get(ctx, token("alice", "metastore", -time.Minute), "/a/1")))
	own, err := c.login(ctx, "alice", "alicepw")
	require.NoError(t, err)
	require.NoError(t, c.get(ctx, own, "/a/1"), "the member's own tokens still work")

	// The plugin cannot run: its binary changed, so it fails its checksum.
	killChild(t, m.Pid(), bin)
	require.NoError(t, os.Remove(bin)) // replace, not rewrite: it may still be closing
	require.NoError(t, os.WriteFile(bin, []byte("#!/bin/sh\nexit 1\n"), 0o755))
	time.Sleep(1500 * time.Millisecond) // past the restart backoff
	require.NoError(t, c.get(ctx, alice, "/a/1"), "a verified identity keeps working")
	require.Equal(t, codes.Unavailable, status.Code(c.get(ctx, token("alice", "metastore", 2*time.Hour), "/a/1")),
		"an unverified token is refused while the provider is down")

	// The binary is back: the next call starts the plugin again.
	require.NoError(t, os.Remove(bin))
	require.NoError(t, os.WriteFile(bin, code, 0o755))
	time.Sleep(1500 * time.Millisecond)
	require.NoError(t, c.get(ctx, token("alice", "metastore", 3*time.Hour), "/a/1"))
}

// buildOIDCPlugin builds the oidc plugin binary into dir and returns its
// path and contents.
// oidcIssuer writes the JWKS of a new RSA key (kid k1) to a file in dir
// and returns it with a function that signs tokens of issuer
// https://idp.example with that key.
func oidcIssuer(t *testing.T, dir string) (jwksFile string, token func(sub, aud string, ttl time.Duration) string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	b64 := base64.RawURLEncoding.EncodeToString
	jwks, err := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": "k1", "n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes())}}})
	require.NoError(t, err)
	jwksFile = filepath.Join(dir, "jwks.json")
	require.NoError(t, os.WriteFile(jwksFile, jwks, 0o600))
	return jwksFile, func(sub, aud string, ttl time.Duration) string {
		tk := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
			"iss": "https://idp.example", "aud": aud, "sub": sub, "exp": time.Now().Add(ttl).Unix()})
		tk.Header["kid"] = "k1"
		s, err := tk.SignedString(key)
		require.NoError(t, err)
		return s
	}
}

func buildOIDCPlugin(t *testing.T, dir string) (bin string, code []byte) {
	t.Helper()
	bin = filepath.Join(dir, "metastore-auth-oidc")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/metastore-auth-oidc").CombinedOutput()
	require.NoError(t, err, string(out))
	code, err = os.ReadFile(bin)
	require.NoError(t, err)
	return bin, code
}

// killChild kills the child process of parent running exe.
func killChild(t *testing.T, parent int, exe string) {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		var ppid int
		var comm, state string
		if _, err := fmt.Sscanf(string(stat), "%d %s %s %d", &pid, &comm, &state, &ppid); err != nil || ppid != parent {
			continue
		}
		if path, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err != nil || path != exe {
			continue
		}
		p, err := os.FindProcess(pid)
		require.NoError(t, err)
		require.NoError(t, p.Kill())
		return
	}
	t.Fatalf("no child %s of %d", exe, parent)
}

// oidcGroupsConfig builds the oidc plugin, serves its key set over https
// on 127.0.0.1, and returns a config file running it as the member's auth
// provider and a function minting its tokens (groups as given).
func oidcGroupsConfig(t *testing.T) (cfgFile string, token func(sub string, groups ...string) string) {
	t.Helper()
	dir := t.TempDir()
	bin, code := buildOIDCPlugin(t, dir)
	sum := sha256.Sum256(code)

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	b64 := base64.RawURLEncoding.EncodeToString
	jwks, err := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": "k1", "n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes())}}})
	require.NoError(t, err)
	idp := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(jwks) }))
	t.Cleanup(idp.Close)
	caFile := filepath.Join(dir, "idp-ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: idp.Certificate().Raw}), 0o600))
	token = func(sub string, groups ...string) string {
		c := jwt.MapClaims{"iss": "https://idp.example", "aud": "metastore", "sub": sub, "exp": time.Now().Add(time.Hour).Unix()}
		if groups != nil {
			c["groups"] = groups
		}
		tk := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
		tk.Header["kid"] = "k1"
		s, err := tk.SignedString(key)
		require.NoError(t, err)
		return s
	}

	cfgFile = filepath.Join(dir, "metastore.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(fmt.Sprintf(`auth-provider: oidc
plugins:
  - kind: auth
    name: oidc
    path: %s
    sha256: %s
    env:
      METASTORE_OIDC_JWKS_URL: %s/keys
      METASTORE_OIDC_JWKS_CA_FILE: %s
      METASTORE_OIDC_ISSUER: https://idp.example
      METASTORE_OIDC_AUDIENCE: metastore
`, bin, hex.EncodeToString(sum[:]), idp.URL, caFile)), 0o600))
	return cfgFile, token
}

// grantDevGroup gives the group dev read-write on /dev/ through the
// member at endpoint, with etcdctl as root.
func grantDevGroup(t *testing.T, endpoint string) {
	t.Helper()
	for _, args := range [][]string{
		{"role", "add", "dev-rw"},
		{"role", "grant-permission", "dev-rw", "readwrite", "/dev/", "--prefix"},
		{"user", "add", "group/dev", "--no-password"},
		{"user", "grant-role", "group/dev", "dev-rw"},
	} {
		out, err := hosttest.Etcdctl(t, endpoint, "", append([]string{"--user", "root:rootpw"}, args...)...)
		require.NoError(t, err, out)
	}
}

// Roles granted to a group, through the real oidc plugin process with its
// key set served over https: a token whose groups claim holds dev may
// write under /dev/ (the role granted to the etcd user group/dev), not
// elsewhere; revoking the grant denies the same token; the grant survives
// a restart; no token may stand for the group itself.
func TestAuthOIDCGroupGrants(t *testing.T) {
	cfgFile, token := oidcGroupsConfig(t)
	m := hosttest.StartMember(t, hosttest.WithArgs(append([]string{"--config-file", cfgFile}, authArgs...)...))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := dialRaw(t, m)
	setupAlice(ctx, t, c)
	etcdctl := func(args ...string) {
		t.Helper()
		out, err := hosttest.Etcdctl(t, m.Endpoint(), "", append([]string{"--user", "root:rootpw"}, args...)...)
		require.NoError(t, err, out)
	}
	grantDevGroup(t, m.Endpoint())

	carol := token("carol", "dev", "qa")
	require.NoError(t, c.put(ctx, carol, "/dev/1"), "a member of dev who is no etcd user writes under /dev/")
	require.NoError(t, c.get(ctx, carol, "/dev/1"))
	require.Equal(t, codes.PermissionDenied, status.Code(c.put(ctx, carol, "/ops/1")))
	require.Equal(t, codes.PermissionDenied, status.Code(c.put(ctx, token("carol"), "/dev/1")), "no group, no grant")
	require.Equal(t, codes.PermissionDenied, status.Code(c.put(ctx, token("carol", "ops"), "/dev/1")))
	require.NoError(t, c.put(ctx, token("alice", "dev"), "/a/1"), "own roles and group roles together")
	require.NoError(t, c.put(ctx, token("alice", "dev"), "/dev/2"))
	require.Equal(t, codes.Unauthenticated, status.Code(c.get(ctx, token("group/dev"), "/dev/1")), "no token stands for a group")

	etcdctl("user", "revoke-role", "group/dev", "dev-rw")
	require.Equal(t, codes.PermissionDenied, status.Code(c.put(ctx, carol, "/dev/3")), "the revoked grant denies the same token")

	etcdctl("user", "grant-role", "group/dev", "dev-rw")
	m.Restart(t)
	c = dialRaw(t, m)
	require.NoError(t, c.put(ctx, carol, "/dev/4"), "the grant survives a restart")
	require.Equal(t, codes.PermissionDenied, status.Code(c.put(ctx, carol, "/ops/1")))
}

// Group grants are replicated: made through one member of three, they
// hold on the others, each with its own plugin process, and a revoke
// through another member takes effect everywhere.
func TestAuthOIDCGroupGrantsCluster(t *testing.T) {
	cfgFile, token := oidcGroupsConfig(t)
	ms := hosttest.StartCluster(t, 3, hosttest.WithArgs(append([]string{"--config-file", cfgFile}, authArgs...)...))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	setupAlice(ctx, t, dialRaw(t, ms[0]))
	grantDevGroup(t, ms[0].Endpoint())

	carol := token("carol", "dev")
	for i, m := range ms {
		c := dialRaw(t, m)
		require.NoError(t, c.put(ctx, carol, fmt.Sprintf("/dev/%d", i)), "member %d", i)
		require.Equal(t, codes.PermissionDenied, status.Code(c.put(ctx, carol, "/ops/1")), "member %d", i)
	}
	out, err := hosttest.Etcdctl(t, ms[1].Endpoint(), "", "--user", "root:rootpw", "user", "revoke-role", "group/dev", "dev-rw")
	require.NoError(t, err, out)
	for i, m := range ms {
		c := dialRaw(t, m)
		require.Eventually(t, func() bool { return status.Code(c.get(ctx, carol, "/dev/0")) == codes.PermissionDenied },
			10*time.Second, 50*time.Millisecond, "member %d still grants the revoked role", i)
		require.Equal(t, codes.PermissionDenied, status.Code(c.put(ctx, carol, "/dev/9")), "member %d", i)
	}
}
