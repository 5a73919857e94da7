package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// waitOutput waits until the member's output holds s, n times or more.
func waitOutput(t *testing.T, m *hosttest.Process, s string, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Count(m.Output(), s) >= n },
		10*time.Second, 50*time.Millisecond, "waiting for %q in the output", s)
}

// TestReloadLogLevel changes the log level live through the config file
// and SIGHUP, and refuses a change that needs a restart.
func TestReloadLogLevel(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "metastore.yaml")
	write := func(body string) {
		t.Helper()
		require.NoError(t, os.WriteFile(cfgFile, []byte(body), 0o600))
	}
	write("log-level: info\nstorage-engine: bbolt\n")
	m := hosttest.StartMember(t, hosttest.WithArgs("--config-file", cfgFile))

	require.NotContains(t, m.Output(), `"level":"debug"`)
	write("log-level: debug\nstorage-engine: bbolt\n")
	waitOutput(t, m, `"msg":"config reloaded: log level changed","trigger":"config file changed","from":"info","to":"debug"`, 1)
	require.NoError(t, syscall.Kill(m.Pid(), syscall.SIGHUP)) // nothing changed: a debug line
	waitOutput(t, m, `"level":"debug","ts":`, 1)
	require.Contains(t, m.Output(), `"msg":"config reloaded: nothing changed","trigger":"SIGHUP"`)

	write("log-level: debug\nstorage-engine: memory\n")
	waitOutput(t, m, `"msg":"config change refused: these settings cannot change while the member runs; restart the member to apply them","trigger":"config file changed","settings":["storage-engine"]`, 1)

	// The refused change is reported once, not at every later reload.
	write("log-level: warn\nstorage-engine: memory\n")
	waitOutput(t, m, `"from":"debug","to":"warn"`, 1)
	write("log-level: error\nstorage-engine: memory\n")
	waitOutput(t, m, `"from":"warn","to":"error"`, 1)
	require.NoError(t, syscall.Kill(m.Pid(), syscall.SIGHUP))
	time.Sleep(200 * time.Millisecond)
	require.Equal(t, 1, strings.Count(m.Output(), `"settings":["storage-engine"]`))

	// A broken file keeps the running configuration.
	write("log-level: [\n")
	waitOutput(t, m, "config reload failed; keeping the running configuration", 1)
	require.Equal(t, 200, httpDo(t, "GET", m.Endpoint(), "/health", "").Status)
}

// TestReloadOnSIGHUP reloads the config file named in the environment on
// SIGHUP, and follows a file replaced by a rename.
func TestReloadOnSIGHUP(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "metastore.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte("log-level: info\n"), 0o600))
	m := hosttest.StartMember(t, hosttest.WithEnv("METASTORE_CONFIG_FILE="+cfgFile))
	require.NoError(t, syscall.Kill(m.Pid(), syscall.SIGHUP))
	time.Sleep(300 * time.Millisecond)
	require.NotContains(t, m.Output(), "config reloaded")
	// Rewrite through a rename, as editors do: the watch follows it.
	tmp := cfgFile + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte("log-level: warn\n"), 0o600))
	require.NoError(t, os.Rename(tmp, cfgFile))
	require.NoError(t, syscall.Kill(m.Pid(), syscall.SIGHUP))
	waitOutput(t, m, `"from":"info","to":"warn"`, 1)
}
