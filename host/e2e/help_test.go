package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// TestHelp runs the binary's --help: it exits 0 and shows the groups,
// each flag's default, variables and config key, the subcommands and the
// examples; and a misspelt flag names the flag meant.
func TestHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		cmd := exec.Command(hosttest.MetastoreBin(t), arg)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Run(), "%s exits 0; stderr: %s", arg, stderr.String())
		out := stdout.String()
		for _, group := range []string{"General", "Member", "Clustering", "Security", "Auth", "Profiling and monitoring",
			"Logging", "Features", "Unsafe", "MetaStore (no etcd equivalent)", "Short aliases", "Examples"} {
			require.Contains(t, out, "\n"+group+":\n", arg)
		}
		require.Contains(t, out, "  --quota-backend-bytes '0'\n", arg)
		require.Contains(t, out, "      env: METASTORE_QUOTA_BACKEND_BYTES, ETCD_QUOTA_BACKEND_BYTES\n      file: quota-backend-bytes\n", arg)
		require.Contains(t, out, "      env: METASTORE_LOG_LEVEL, ETCD_LOG_LEVEL\n      file: log-level\n      reloads live: yes\n", arg)
		for _, sub := range []string{"snapshot restore", "snapshot export", "snapshot status", "plugins list", "plugins verify", "plugins pin"} {
			require.Contains(t, out, "\n  metastore "+sub+" ", arg)
		}
		require.Contains(t, out, "\n  metastore --id m1 --listen 10.0.0.1:2379 \\\n", arg)
		require.Contains(t, out, "\n  metastore plugins verify --config-file configs/rocksdb-plugin.yaml\n", arg)
	}

	out, err := exec.Command(hosttest.MetastoreBin(t), "--quota-backend-byte=1").CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, 2, exit.ExitCode())
	require.Equal(t, "metastore: flag provided but not defined: -quota-backend-byte (did you mean --quota-backend-bytes?)\n", string(out))

	for _, sub := range []string{"snapshot", "plugins"} {
		out, err := exec.Command(hosttest.MetastoreBin(t), sub, "--help").Output()
		require.NoError(t, err, sub)
		require.True(t, strings.HasPrefix(string(out), "Usage:\n\n  metastore "+sub+" "), "%s --help:\n%s", sub, out)
	}
}
