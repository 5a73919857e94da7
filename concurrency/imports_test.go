package concurrency_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The SDK is a client library: it reaches the server through clientv3 only,
// never through MetaStore's (or etcd's) server code.
func TestImportsClientOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/metastore/metastore/concurrency").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, pkg := range strings.Fields(string(out)) {
		switch {
		case pkg == "github.com/metastore/metastore/concurrency":
		case strings.HasPrefix(pkg, "github.com/metastore/metastore/"),
			strings.HasPrefix(pkg, "go.etcd.io/etcd/server/"),
			strings.HasPrefix(pkg, "go.etcd.io/raft/"),
			strings.HasPrefix(pkg, "go.etcd.io/bbolt"):
			t.Errorf("concurrency depends on %s", pkg)
		}
	}
}
