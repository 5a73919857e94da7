package host

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHostIsPureGo: the metastore binary links no cgo package outside the
// standard library (which builds without cgo too); cgo engines such as
// RocksDB reach it only as plugin processes.
func TestHostIsPureGo(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps",
		"-f", "{{if and .CgoFiles (not .Standard)}}{{.ImportPath}}{{end}}",
		"github.com/metastore/metastore/cmd/metastore").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Empty(t, strings.TrimSpace(string(out)), "cgo packages in the host binary")
}
