package pluginscmd

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/config"
)

// pin writes the sums at the sha256 lines, quoted or not, adds a line after
// path where an entry has none, and keeps comments and every other line.
func TestPinPluginsEditsOnlyTheChecksums(t *testing.T) {
	dir := t.TempDir()
	binA, binB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	require.NoError(t, os.WriteFile(binA, []byte("plugin a"), 0o755))
	require.NoError(t, os.WriteFile(binB, []byte("plugin b"), 0o755))
	sum := func(b string) string { s := sha256.Sum256([]byte(b)); return hex.EncodeToString(s[:]) }
	file := filepath.Join(dir, "metastore.yaml")
	text := `# the catalog
plugins:
  - kind: storage
    name: a
    path: ` + binA + `
    sha256: "00"   # pasted by hand
    options: {}
  - kind: quota
    name: b
    path: ` + binB + `
    config:
      prefixes: [{prefix: /x/, max-keys: 1}]
`
	require.NoError(t, os.WriteFile(file, []byte(text), 0o600))
	var out strings.Builder
	require.NoError(t, pinPlugins(file, false, &out))
	got, err := os.ReadFile(file)
	require.NoError(t, err)
	want := strings.Replace(text, `sha256: "00"   # pasted by hand`, "sha256: "+sum("plugin a")+"   # pasted by hand", 1)
	want = strings.Replace(want, "path: "+binB+"\n", "path: "+binB+"\n    sha256: "+sum("plugin b")+"\n", 1)
	require.Equal(t, want, string(got))
	require.Contains(t, out.String(), "pinned 2 catalog plugins")

	cfg, _, err := config.Load([]string{"--config-file", file}, nil)
	require.NoError(t, err, "the pinned file loads")
	require.Equal(t, sum("plugin b"), cfg.Plugins[1].SHA256)

	require.ErrorContains(t, pinPlugins("", false, io.Discard), "--config-file")
	require.NoError(t, os.Remove(binA))
	require.ErrorContains(t, pinPlugins(file, false, io.Discard), "make build")
}
