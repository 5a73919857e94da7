package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// oidcPluginBin builds the oidc auth plugin into dir and returns its path
// and a JWKS file it can start with.
func oidcPluginBin(t *testing.T, dir string) (bin, jwks string) {
	t.Helper()
	bin, _ = buildOIDCPlugin(t, dir)
	jwks, _ = writeJWKS(t, dir, "jwks.json")
	return bin, jwks
}

// writeJWKS writes a key set of one new RSA key (kid k1) into dir/name
// and returns its path and the key.
func writeJWKS(t *testing.T, dir, name string) (string, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	b64 := base64.RawURLEncoding.EncodeToString
	set, err := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": "k1", "n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes())}}})
	require.NoError(t, err)
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, set, 0o600))
	return path, key
}

// runPlugins runs `metastore plugins args...` and returns its stdout,
// stderr and exit code.
func runPlugins(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runPluginsIn(t, "", args...)
}

// catalogFile writes a config file whose catalog holds the bbolt and
// memory storage plugins and the oidc auth plugin, with the given
// checksum of the bbolt one.
func catalogFile(t *testing.T, dir, bboltSum string) string {
	t.Helper()
	bbolt, memory := pluginBin(t, "bbolt"), pluginBin(t, "memory")
	oidc, jwks := oidcPluginBin(t, dir)
	file := filepath.Join(dir, "metastore.yaml")
	text := fmt.Sprintf(`plugins:
  - kind: storage
    name: bbolt-plugin
    path: %s
    sha256: %s
  - kind: storage
    name: memory-plugin
    path: %s
    sha256: %s
  - kind: auth
    name: oidc
    path: %s
    sha256: %s
    env:
      METASTORE_OIDC_JWKS_FILE: %s
      METASTORE_OIDC_ISSUER: https://idp.example
      METASTORE_OIDC_AUDIENCE: metastore
`, bbolt, bboltSum, memory, fileSum(t, memory), oidc, fileSum(t, oidc), jwks)
	require.NoError(t, os.WriteFile(file, []byte(text), 0o600))
	return file
}

// `metastore plugins list` shows the built-in plugins and the catalog's,
// with checksums and what each plugin reports when started; verify
// passes.
func TestPluginsListAndVerify(t *testing.T) {
	dir := t.TempDir()
	bboltSum := fileSum(t, pluginBin(t, "bbolt"))
	file := catalogFile(t, dir, bboltSum)

	out, errOut, code := runPlugins(t, "list", "--config-file", file)
	require.Equal(t, 0, code, errOut)
	rows := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := strings.Fields(line)
		rows[f[0]+"/"+f[1]] = f
	}
	require.Contains(t, out, "KIND")
	for _, builtin := range []string{"storage/bbolt", "storage/memory", "auth/etcd"} {
		require.Contains(t, rows, builtin)
		require.Equal(t, "built-in", rows[builtin][2], builtin)
		require.Equal(t, "ok", rows[builtin][8], builtin)
	}
	bbolt := rows["storage/bbolt-plugin"]
	require.Equal(t, []string{"storage", "bbolt-plugin", "process", pluginBin(t, "bbolt"), bboltSum, bboltSum}, bbolt[:6])
	require.Contains(t, bbolt[7], "durable", "capabilities the plugin reported")
	require.Equal(t, "ok", bbolt[8])
	require.Equal(t, "process", rows["storage/memory-plugin"][2])
	require.Equal(t, "ok", rows["storage/memory-plugin"][8])
	oidc := rows["auth/oidc"]
	require.Equal(t, "process", oidc[2])
	require.Contains(t, oidc[7], "token")
	require.Equal(t, "ok", oidc[8])
	require.NotEqual(t, "-", oidc[6], "the version the plugin reported")

	out, errOut, code = runPlugins(t, "verify", "--config-file", file)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "OK   storage bbolt-plugin")
	require.Contains(t, out, "OK   storage memory-plugin")
	require.Contains(t, out, "OK   auth oidc")
	require.Contains(t, out, "3 catalog plugins verified")
}

// verify fails, naming the plugin and why, for a checksum that is not
// the binary's and for a binary that is no plugin.
func TestPluginsVerifyFailures(t *testing.T) {
	dir := t.TempDir()
	wrong := strings.Repeat("ab", 32)
	file := catalogFile(t, dir, wrong)
	out, errOut, code := runPlugins(t, "verify", "--config-file", file)
	require.Equal(t, 1, code)
	require.Contains(t, out, "FAIL storage bbolt-plugin")
	require.Contains(t, out, "checksum mismatch: the config says sha256 "+wrong)
	require.Contains(t, out, "OK   auth oidc")
	require.Contains(t, errOut, "1 of 3 catalog plugins failed verification")

	listOut, _, code := runPlugins(t, "list", "--config-file", file)
	require.Equal(t, 0, code, "list shows, verify judges")
	require.Contains(t, listOut, "checksum mismatch")

	notPlugin := filepath.Join(dir, "not-a-plugin")
	require.NoError(t, os.WriteFile(notPlugin, []byte("#!/bin/sh\necho hello\n"), 0o700))
	file2 := filepath.Join(dir, "other.yaml")
	require.NoError(t, os.WriteFile(file2, []byte(fmt.Sprintf(`plugins:
  - kind: storage
    name: fake
    path: %s
    sha256: %s
`, notPlugin, fileSum(t, notPlugin))), 0o600))
	out, errOut, code = runPlugins(t, "verify", "--config-file", file2)
	require.Equal(t, 1, code)
	require.Contains(t, out, "FAIL storage fake")
	require.Contains(t, out, "handshake")
	require.Contains(t, errOut, "1 of 1 catalog plugins failed verification")

	_, errOut, code = runPlugins(t, "frobnicate")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "usage: metastore plugins list|verify")
}

// runPluginsIn runs `metastore plugins args...` in the directory dir (""
// for the test's).
func runPluginsIn(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(hosttest.MetastoreBin(t), append([]string{"plugins"}, args...)...)
	cmd.Dir = dir
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return out.String(), errOut.String(), exit.ExitCode()
	}
	require.NoError(t, err)
	return out.String(), errOut.String(), 0
}

// The plugin configs shipped in configs/ work as documented: after `make
// build`, `metastore plugins pin --config-file F` writes the binaries'
// checksums into F, changing no other line, verify passes, and a member
// started from F in the repository's root serves etcdctl on the plugin.
func TestShippedPluginConfigsWorkAfterPin(t *testing.T) {
	root := filepath.Dir(filepath.Dir(hosttest.MetastoreBin(t))) // bin/metastore is in the root
	for _, name := range []string{"bbolt-plugin.yaml", "rocksdb-plugin.yaml", "prefix-quota.yaml"} {
		t.Run(name, func(t *testing.T) {
			shipped, err := os.ReadFile(filepath.Join(root, "configs", name))
			require.NoError(t, err)
			file := filepath.Join(t.TempDir(), name)
			require.NoError(t, os.WriteFile(file, shipped, 0o644))

			_, stderr, code := runPluginsIn(t, root, "verify", "--config-file", file)
			require.NotZero(t, code, "as shipped, the checksum is a placeholder")
			require.Contains(t, stderr, "metastore plugins pin", "the refusal says how to pin")

			out, stderr, code := runPluginsIn(t, root, "pin", "--config-file", file, "--dry-run")
			require.Equal(t, 0, code, stderr)
			require.Contains(t, out, "sha256: ")
			unchanged, err := os.ReadFile(file)
			require.NoError(t, err)
			require.Equal(t, shipped, unchanged, "--dry-run writes nothing")

			out, stderr, code = runPluginsIn(t, root, "pin", "--config-file", file)
			require.Equal(t, 0, code, "pin: %s%s", out, stderr)
			pinned, err := os.ReadFile(file)
			require.NoError(t, err)
			before, after := strings.Split(string(shipped), "\n"), strings.Split(string(pinned), "\n")
			require.Len(t, after, len(before), "pin adds and removes no line")
			changed := 0
			for i := range before {
				if before[i] != after[i] {
					changed++
					require.Contains(t, before[i], "sha256: ", "pin changes only the sha256 lines")
				}
			}
			require.Positive(t, changed)

			out, stderr, code = runPluginsIn(t, root, "verify", "--config-file", file)
			require.Equal(t, 0, code, "verify after pin: %s%s", out, stderr)

			ep := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			log := startRaw(t, root, "--config-file", file, "--data-dir", filepath.Join(t.TempDir(), "data"),
				"--listen-client-urls", "http://"+ep, "--advertise-client-urls", "http://"+ep,
				"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", freePort(t)))
			require.Eventually(t, func() bool { return strings.Contains(log.String(), hosttest.ReadyLine) },
				60*time.Second, 20*time.Millisecond, "the member starts from the pinned config")
			_, err = hosttest.Etcdctl(t, "http://"+ep, "", "put", "/tenant-b/k", "v")
			require.NoError(t, err)
			got, err := hosttest.Etcdctl(t, "http://"+ep, "", "get", "/tenant-b/k", "--print-value-only")
			require.NoError(t, err)
			require.Equal(t, "v\n", got)
		})
	}
}
