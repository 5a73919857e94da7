package e2e

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// A vendor's plugin, built as a vendor builds it: examples/quota-keys-per-prefix
// copied to a directory outside the repository, its replace pointed at this
// tree's pluginapi module, built with its own go.mod and go.sum (whose
// module graph must not hold the MetaStore module itself), pinned into a
// config with `metastore plugins pin`, and run by a member that etcdctl
// then writes to.
func TestExamplePluginBuiltOutOfTree(t *testing.T) {
	root := filepath.Dir(filepath.Dir(hosttest.MetastoreBin(t)))
	src := filepath.Join(root, "examples", "quota-keys-per-prefix")
	dir := filepath.Join(t.TempDir(), "keys-per-prefix")
	require.NoError(t, copyTree(src, dir))
	goCmd := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), out)
		return string(out)
	}
	goCmd("mod", "edit", "-replace", "github.com/metastore/metastore/pluginapi="+filepath.Join(root, "pluginapi"))
	for _, m := range strings.Fields(goCmd("list", "-m", "-f", "{{.Path}}", "all")) {
		require.NotEqual(t, "github.com/metastore/metastore", m, "the plugin's module graph holds MetaStore itself")
	}
	bin := filepath.Join(t.TempDir(), "metastore-quota-keys-per-prefix")
	goCmd("build", "-o", bin, "./cmd/metastore-quota-keys-per-prefix")

	cfg := filepath.Join(t.TempDir(), "metastore.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`quota-policy: keys
plugins:
  - kind: quota
    name: keys
    path: %s
    config:
      max-keys: 2
      prefixes: [/t/]
`, bin)), 0o600))
	out, stderr, code := runPluginsIn(t, root, "pin", "--config-file", cfg)
	require.Equal(t, 0, code, "pin: %s%s", out, stderr)

	m := hosttest.StartMember(t, hosttest.WithArgs("--config-file", cfg))
	for _, k := range []string{"/t/1", "/t/2", "/elsewhere"} {
		_, err := m.Etcdctl(t, "put", k, "v")
		require.NoError(t, err, "put %s", k)
	}
	_, err := m.Etcdctl(t, "put", "/t/3", "v")
	var cerr *hosttest.CmdError
	require.ErrorAs(t, err, &cerr, "a third key under /t/")
	require.Contains(t, cerr.Stderr, `prefix "/t/" is limited to 2 keys`)
	_, err = m.Etcdctl(t, "del", "/t/1")
	require.NoError(t, err)
	_, err = m.Etcdctl(t, "put", "/t/3", "v")
	require.NoError(t, err, "room again after a delete")
}

// copyTree copies the regular files under src to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}
