package console_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// quotaPluginBin is the prefix-quota plugin beside the metastore binary
// (make build puts it there), else built for the test; and its sha256.
func quotaPluginBin(t *testing.T) (string, string) {
	t.Helper()
	bin := filepath.Join(filepath.Dir(hosttest.MetastoreBin(t)), "metastore-quota-prefix")
	if _, err := os.Stat(bin); err != nil {
		bin = filepath.Join(t.TempDir(), "metastore-quota-prefix")
		out, err := exec.Command("go", "build", "-o", bin, "../../cmd/metastore-quota-prefix").CombinedOutput()
		require.NoError(t, err, string(out))
	}
	code, err := os.ReadFile(bin)
	require.NoError(t, err)
	sum := sha256.Sum256(code)
	return bin, hex.EncodeToString(sum[:])
}

// The plugins page shows the prefix-quota plugin running with its
// checksum matching, the p99 of its calls, and the usage of its prefixes
// against their limits;
// killed, it is shown down or restarted, with one restart and why it
// went down.
func TestConsolePluginRestart(t *testing.T) {
	bin, sum := quotaPluginBin(t)
	cfgFile := filepath.Join(t.TempDir(), "metastore.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(hosttest.PrefixQuotaConfig(bin, sum, `        - prefix: /tenant-a/
          max-keys: 10
          max-bytes: 1000
        - prefix: /tenant-b/
          max-keys: 4
`)), 0o600))
	m := hosttest.StartMember(t, hosttest.WithArgs("--config-file", cfgFile))
	for _, kv := range [][2]string{{"/tenant-a/1", "one"}, {"/tenant-a/2", "two"}, {"/tenant-a/3", "three"}, {"/tenant-b/1", "x"}} {
		_, err := m.Etcdctl(t, "put", kv[0], kv[1])
		require.NoError(t, err)
	}

	p := newPage(t)
	p.open(m.Endpoint() + "/ui/plugins")
	row := `tr[data-plugin="quota/prefix-quota"]`
	p.waitText(row+` [data-testid="state"]`, "running")
	p.waitText(row, "matches")
	require.Equal(t, "0", eval[string](p, `document.querySelector('`+row+` [data-testid="restarts"]').textContent`))
	p.waitText(`tr[data-prefix="/tenant-a/"]`, "3 of 10")
	p.waitText(`tr[data-prefix="/tenant-b/"]`, "1 of 4")
	p.waitFor(`/^\d+\.\d{3} ms$/.test(document.querySelector('` + row + ` [data-testid="p99"]').textContent)`)
	require.NotEqual(t, "0.000 ms", eval[string](p, `document.querySelector('`+row+` [data-testid="p99"]').textContent`))

	pid := m.ChildPid(t, "metastore-quota")
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	p.waitText(row+` [data-testid="restarts"]`, "1")
	p.waitText(row+` [data-testid="state"]`, "running")
	require.NotEqual(t, pid, m.ChildPid(t, "metastore-quota"))
	require.NotContains(t, eval[string](p, `document.querySelector('`+row+`').textContent`), "none", "no last error shown")
	p.screenshot("plugins", true)
}

// The plugins page lists the catalog a config reload applied: an entry
// added to the config file while the member runs shows up, not started.
func TestConsolePluginsFollowReload(t *testing.T) {
	bin, sum := quotaPluginBin(t)
	cfgFile := filepath.Join(t.TempDir(), "metastore.yaml")
	quota := hosttest.PrefixQuotaConfig(bin, sum, `        - prefix: /tenant-a/
          max-keys: 10
`)
	require.NoError(t, os.WriteFile(cfgFile, []byte(quota), 0o600))
	m := hosttest.StartMember(t, hosttest.WithArgs("--config-file", cfgFile))

	p := newPage(t)
	p.open(m.Endpoint() + "/ui/plugins")
	p.waitText(`tr[data-plugin="quota/prefix-quota"] [data-testid="state"]`, "running")
	require.False(t, eval[bool](p, `!!document.querySelector('tr[data-plugin="storage/spare"]')`))

	spare := fmt.Sprintf("  - kind: storage\n    name: spare\n    path: %s\n    sha256: %s\n", bin, sum)
	next := strings.Replace(quota, "plugins:\n", "plugins:\n"+spare, 1)
	require.NoError(t, os.WriteFile(cfgFile+".new", []byte(next), 0o600))
	require.NoError(t, os.Rename(cfgFile+".new", cfgFile))
	p.waitText(`tr[data-plugin="storage/spare"] [data-testid="state"]`, "not started")
	p.waitText(`tr[data-plugin="quota/prefix-quota"] [data-testid="state"]`, "running")
}
