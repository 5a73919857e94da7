package e2e

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
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// quotaPlugin is the prefix-quota plugin binary, built for the test.
type quotaPlugin struct {
	bin string
	sum string
}

func buildQuotaPlugin(t *testing.T) quotaPlugin {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "metastore-quota-prefix")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/metastore-quota-prefix").CombinedOutput()
	require.NoError(t, err, string(out))
	code, err := os.ReadFile(bin)
	require.NoError(t, err)
	sum := sha256.Sum256(code)
	return quotaPlugin{bin: bin, sum: hex.EncodeToString(sum[:])}
}

// config is a member config file running the plugin with the given
// prefixes section of its config, pinged every 200ms.
func (q quotaPlugin) config(prefixes string) string {
	return hosttest.PrefixQuotaConfig(q.bin, q.sum, prefixes)
}

// twoTenants: /a/ at most 3 keys and 40 bytes, /b/ at most 100 keys.
const twoTenants = `        - prefix: /a/
          max-keys: 3
          max-bytes: 40
        - prefix: /b/
          max-keys: 100
`

func writeConfig(t *testing.T, path, body string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
}

// requireQuotaRefused checks a refusal by the prefix-quota plugin, as
// etcdctl shows it.
func requireQuotaRefused(t *testing.T, err error, limit string) {
	t.Helper()
	require.Error(t, err)
	require.Contains(t, err.Error(), "etcdserver: quota exceeded: "+limit)
}

// Two tenants under the real plugin, through etcdctl: /a/ reaches its key
// limit and its byte limit, /b/ keeps writing, deletes free room, and the
// usage is the same after the member restarts.
func TestQuotaPluginPrefixLimits(t *testing.T) {
	q := buildQuotaPlugin(t)
	cfgFile := filepath.Join(t.TempDir(), "metastore.yaml")
	writeConfig(t, cfgFile, q.config(twoTenants))
	m := hosttest.StartMember(t, hosttest.WithArgs("--config-file", cfgFile))
	put := func(key, value string) error {
		_, err := m.Etcdctl(t, "put", key, value)
		return err
	}

	// A key counts len(key)+len(value): "/a/1"+"x" is 5 bytes.
	for _, k := range []string{"/a/1", "/a/2", "/a/3"} {
		require.NoError(t, put(k, "x"))
	}
	requireQuotaRefused(t, put("/a/4", "x"), `prefix "/a/" is limited to 3 keys (it holds 3, the write adds 1)`)
	require.NoError(t, put("/a/1", "yyyy"), "an overwrite adds no key")
	// 18 bytes held; 26 more bytes for /a/1 would make 44.
	requireQuotaRefused(t, put("/a/1", strings.Repeat("z", 30)), `prefix "/a/" is limited to 40 bytes (it holds 18, the write adds 26)`)
	require.NoError(t, put("/a/1", strings.Repeat("z", 26)), "exactly the byte limit")
	for i := range 10 {
		require.NoError(t, put(fmt.Sprintf("/b/%d", i), strings.Repeat("v", 100)), "the other tenant is not limited by /a/'s use")
	}
	require.NoError(t, put("/c/1", strings.Repeat("v", 1000)), "keys under no prefix are not limited")

	// A txn is checked once, for all its puts; either branch may run, so
	// the larger counts.
	_, err := m.EtcdctlStdin(t, "\nput /b/x 1\nput /a/5 1\n\n\n", "txn")
	requireQuotaRefused(t, err, `prefix "/a/" is limited to 3 keys`)
	out, err := m.Etcdctl(t, "get", "/b/x")
	require.NoError(t, err)
	require.Empty(t, out, "a refused txn writes nothing")

	// Deletes are always admitted and free room.
	_, err = m.Etcdctl(t, "del", "/a/1")
	require.NoError(t, err)
	require.NoError(t, put("/a/4", "x"))
	requireQuotaRefused(t, put("/a/5", "x"), `prefix "/a/" is limited to 3 keys (it holds 3, the write adds 1)`)

	// A lease's keys count while it lives; its revocation frees them.
	_, err = m.Etcdctl(t, "del", "/a/4")
	require.NoError(t, err)
	out, err = m.Etcdctl(t, "lease", "grant", "600")
	require.NoError(t, err)
	lease := strings.Fields(out)[1]
	_, err = m.Etcdctl(t, "put", "--lease="+lease, "/a/leased", "x")
	require.NoError(t, err)
	requireQuotaRefused(t, put("/a/5", "x"), `prefix "/a/" is limited to 3 keys`)
	_, err = m.Etcdctl(t, "lease", "revoke", lease)
	require.NoError(t, err)
	require.NoError(t, put("/a/5", "x"))

	// The usage comes from the store: a restarted member has the same.
	m.Restart(t)
	requireQuotaRefused(t, put("/a/6", "x"), `prefix "/a/" is limited to 3 keys (it holds 3, the write adds 1)`)
	requireQuotaRefused(t, put("/a/2", strings.Repeat("z", 30)), `prefix "/a/" is limited to 40 bytes (it holds 15, the write adds 29)`)
	require.NoError(t, put("/b/10", "v"))
}

// On a three-member cluster a prefix's limit holds whichever member the
// writes go through: each member checks against its applied state after a
// linearizable barrier.
func TestQuotaPluginCluster(t *testing.T) {
	q := buildQuotaPlugin(t)
	cfgFile := filepath.Join(t.TempDir(), "metastore.yaml")
	writeConfig(t, cfgFile, q.config(twoTenants))
	ms := hosttest.StartCluster(t, 3, hosttest.WithArgs("--config-file", cfgFile))
	for i, m := range ms {
		_, err := m.Etcdctl(t, "put", fmt.Sprintf("/a/%d", i), "x")
		require.NoError(t, err, "via %s", m.Name())
	}
	for _, m := range ms {
		_, err := m.Etcdctl(t, "put", "/a/9", "x")
		requireQuotaRefused(t, err, `prefix "/a/" is limited to 3 keys (it holds 3, the write adds 1)`)
		_, err = m.Etcdctl(t, "put", "/b/"+m.Name(), "x")
		require.NoError(t, err)
	}
	_, err := ms[2].Etcdctl(t, "del", "/a/0")
	require.NoError(t, err)
	_, err = ms[0].Etcdctl(t, "put", "/a/9", "x")
	require.NoError(t, err, "the delete through another member freed room")
}

// A dead plugin: writes go on under the built-in check alone, the plugin
// is started again (a new process), and its limits hold again. The plugin
// metrics count its calls and the restart, and the calls to the storage
// plugin the member also runs.
func TestQuotaPluginFallbackAndRestart(t *testing.T) {
	q := buildQuotaPlugin(t)
	cfgFile := filepath.Join(t.TempDir(), "metastore.yaml")
	bbolt := pluginBin(t, "bbolt")
	writeConfig(t, cfgFile, "storage-engine: bbolt-plugin\n"+q.config(twoTenants)+fmt.Sprintf(`  - kind: storage
    name: bbolt-plugin
    path: %s
    sha256: %s
`, bbolt, fileSum(t, bbolt)))
	audit := filepath.Join(t.TempDir(), "audit.log")
	m := hosttest.StartMember(t, hosttest.WithArgs("--config-file", cfgFile, "--audit-log", audit))
	for _, k := range []string{"/a/1", "/a/2", "/a/3"} {
		_, err := m.Etcdctl(t, "put", k, "x")
		require.NoError(t, err)
	}
	_, err := m.Etcdctl(t, "put", "/a/4", "x")
	requireQuotaRefused(t, err, `prefix "/a/" is limited to 3 keys`)

	first := m.ChildPid(t, "metastore-quota")
	require.NoError(t, syscall.Kill(first, syscall.SIGKILL))
	_, err = m.Etcdctl(t, "put", "/a/4", "x")
	require.NoError(t, err, "the built-in check alone decides while the plugin is down")
	waitOutput(t, m, "the quota policy plugin is down", 1)

	// Started again after its backoff, it decides again.
	waitOutput(t, m, "the quota policy plugin answers again", 1)
	second := m.ChildPid(t, "metastore-quota")
	require.NotEqual(t, first, second)
	quotaPlugin := func(result string) func(auditLine) bool {
		return func(l auditLine) bool {
			return l.Args["kind"] == "quota" && l.Args["name"] == "prefix-quota" && (l.Result == "ok") == (result == "ok")
		}
	}
	waitAudit(t, audit, "plugin.exit", quotaPlugin("the exit says why"))
	waitAudit(t, audit, "plugin.fallback", quotaPlugin("ok"))
	waitAudit(t, audit, "plugin.restart", quotaPlugin("ok"))
	_, err = m.Etcdctl(t, "put", "/a/5", "x")
	requireQuotaRefused(t, err, `prefix "/a/" is limited to 3 keys (it holds 4, the write adds 1)`)

	families := scrape(t, m.Endpoint())
	labels := []string{"kind=quota", "name=prefix-quota"}
	require.Equal(t, 1.0, value(t, families, "metastore_plugin_restarts_total", labels...))
	require.GreaterOrEqual(t, value(t, families, "metastore_plugin_calls_total", append(labels, "method=Check")...), 3.0)
	require.GreaterOrEqual(t, value(t, families, "metastore_plugin_calls_total", append(labels, "method=Configure")...), 2.0,
		"configured at start and after the restart")
	require.GreaterOrEqual(t, value(t, families, "metastore_plugin_call_duration_seconds", append(labels, "method=Check")...), 3.0)
	checks := value(t, families, "metastore_plugin_calls_total", append(labels, "method=Check")...)
	_, err = m.Etcdctl(t, "put", "/c/1", "x")
	require.NoError(t, err)
	require.Equal(t, checks, value(t, scrape(t, m.Endpoint()), "metastore_plugin_calls_total", append(labels, "method=Check")...),
		"the plugin judges only its prefixes: a write under none costs no call")
	storage := []string{"kind=storage", "name=bbolt-plugin"}
	require.Equal(t, 1.0, value(t, families, "metastore_plugin_calls_total", append(storage, "method=Open")...))
	require.GreaterOrEqual(t, value(t, families, "metastore_plugin_calls_total", append(storage, "method=ApplyBatch")...), 1.0)
	require.GreaterOrEqual(t, value(t, families, "metastore_plugin_call_duration_seconds", append(storage, "method=ApplyBatch")...), 1.0)
}

// Changing the limits in the config file applies them to the running
// member, as does SIGHUP; a broken config keeps the limits in force.
func TestQuotaPluginReload(t *testing.T) {
	q := buildQuotaPlugin(t)
	cfgFile := filepath.Join(t.TempDir(), "metastore.yaml")
	limit := func(keys int) string {
		return q.config(fmt.Sprintf("        - prefix: /a/\n          max-keys: %d\n", keys))
	}
	writeConfig(t, cfgFile, limit(2))
	m := hosttest.StartMember(t, hosttest.WithArgs("--config-file", cfgFile))
	for _, k := range []string{"/a/1", "/a/2"} {
		_, err := m.Etcdctl(t, "put", k, "x")
		require.NoError(t, err)
	}
	_, err := m.Etcdctl(t, "put", "/a/3", "x")
	requireQuotaRefused(t, err, `prefix "/a/" is limited to 2 keys`)

	writeConfig(t, cfgFile, limit(3))
	waitOutput(t, m, "config reloaded: the quota plugin took its new configuration", 1)
	_, err = m.Etcdctl(t, "put", "/a/3", "x")
	require.NoError(t, err)
	_, err = m.Etcdctl(t, "put", "/a/4", "x")
	requireQuotaRefused(t, err, `prefix "/a/" is limited to 3 keys`)

	// A limit the plugin refuses keeps the one in force.
	writeConfig(t, cfgFile, limit(-1))
	waitOutput(t, m, "the quota plugin refused its new configuration", 1)
	_, err = m.Etcdctl(t, "put", "/a/4", "x")
	requireQuotaRefused(t, err, `prefix "/a/" is limited to 3 keys`)

	// A new prefix, through SIGHUP after a rename (the watch follows it).
	tmp := cfgFile + ".tmp"
	writeConfig(t, tmp, q.config("        - prefix: /a/\n          max-keys: 5\n        - prefix: /b/\n          max-keys: 1\n"))
	require.NoError(t, os.Rename(tmp, cfgFile))
	require.NoError(t, syscall.Kill(m.Pid(), syscall.SIGHUP))
	waitOutput(t, m, "config reloaded: the quota plugin took its new configuration", 2)
	_, err = m.Etcdctl(t, "put", "/a/4", "x")
	require.NoError(t, err)
	_, err = m.Etcdctl(t, "put", "/b/1", "x")
	require.NoError(t, err)
	_, err = m.Etcdctl(t, "put", "/b/2", "x")
	requireQuotaRefused(t, err, `prefix "/b/" is limited to 1 keys`)
	require.NotContains(t, m.Output(), "config change refused", "a change of a quota plugin's config applies live")

	// The refused configuration was a failed call.
	families := scrape(t, m.Endpoint())
	labels := []string{"kind=quota", "name=prefix-quota", "method=Configure"}
	require.Equal(t, 1.0, value(t, families, "metastore_plugin_errors_total", labels...))
	require.Equal(t, 4.0, value(t, families, "metastore_plugin_calls_total", labels...))
}

// configs/prefix-quota.yaml, with the test's binary and its checksum,
// starts a member whose tenants have the limits it lists.
func TestPrefixQuotaExampleConfig(t *testing.T) {
	q := buildQuotaPlugin(t)
	example, err := os.ReadFile(filepath.Join("..", "..", "configs", "prefix-quota.yaml"))
	require.NoError(t, err)
	body := strings.Replace(string(example), "path: bin/metastore-quota-prefix", "path: "+q.bin, 1)
	require.NotEqual(t, string(example), body)
	cfgFile := filepath.Join(t.TempDir(), "prefix-quota.yaml")
	writeConfig(t, cfgFile, body)
	out, stderr, code := runPlugins(t, "pin", "--config-file", cfgFile)
	require.Equal(t, 0, code, "pin: %s%s", out, stderr)
	require.Contains(t, out, q.sum)
	m := hosttest.StartMember(t, hosttest.WithArgs("--config-file", cfgFile))

	// /tenant-b/ holds at most 100 keys: one txn of 100 puts fits, one more
	// put does not.
	var txn strings.Builder
	txn.WriteString("\n") // no compares: the success branch runs
	for i := range 100 {
		fmt.Fprintf(&txn, "put /tenant-b/%03d v\n", i)
	}
	txn.WriteString("\n\n")
	_, err = m.EtcdctlStdin(t, txn.String(), "txn")
	require.NoError(t, err)
	_, err = m.Etcdctl(t, "put", "/tenant-b/100", "v")
	requireQuotaRefused(t, err, `prefix "/tenant-b/" is limited to 100 keys`)
	_, err = m.Etcdctl(t, "put", "/tenant-a/1", "v")
	require.NoError(t, err)
}

// The member serves its quota plugin's state: the usage of each prefix
// and the limits its config sets, and whether the built-in check decides
// alone because the plugin is down.
func TestQuotaPluginStateMetrics(t *testing.T) {
	q := buildQuotaPlugin(t)
	cfgFile := filepath.Join(t.TempDir(), "metastore.yaml")
	writeConfig(t, cfgFile, q.config(twoTenants))
	m := hosttest.StartMember(t, hosttest.WithArgs("--config-file", cfgFile))
	for _, k := range []string{"/a/1", "/a/2", "/c/1"} {
		_, err := m.Etcdctl(t, "put", k, "x")
		require.NoError(t, err)
	}

	// The usage follows the store's events: it may trail the put's answer.
	var families map[string]*dto.MetricFamily
	require.Eventually(t, func() bool {
		families = scrape(t, m.Endpoint())
		keys, _ := lookup(families, "metastore_quota_prefix_keys", "prefix=/a/")
		return keys == 2
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, 10.0, value(t, families, "metastore_quota_prefix_bytes", "prefix=/a/"), `"/a/1"+"x" is 5 bytes`)
	require.Equal(t, 0.0, value(t, families, "metastore_quota_prefix_keys", "prefix=/b/"))
	require.Equal(t, 3.0, value(t, families, "metastore_quota_prefix_max_keys", "prefix=/a/"))
	require.Equal(t, 40.0, value(t, families, "metastore_quota_prefix_max_bytes", "prefix=/a/"))
	require.Equal(t, 100.0, value(t, families, "metastore_quota_prefix_max_keys", "prefix=/b/"))
	_, ok := lookup(families, "metastore_quota_prefix_max_bytes", "prefix=/b/")
	require.False(t, ok, "/b/ has no byte limit")
	require.Equal(t, 0.0, value(t, families, "metastore_quota_fallback", "name=prefix-quota"))
	labels := []string{"kind=quota", "name=prefix-quota"}
	require.Equal(t, 0.0, value(t, families, "metastore_plugin_restarts_total", labels...), "served from the first start")
	require.Equal(t, 0.0, value(t, families, "metastore_plugin_errors_total", append(labels, "method=Check")...),
		"served from the first call")

	// Killed, the plugin is down until its backoff has passed.
	require.NoError(t, syscall.Kill(m.ChildPid(t, "metastore-quota"), syscall.SIGKILL))
	fallback := func() float64 {
		return value(t, scrape(t, m.Endpoint()), "metastore_quota_fallback", "name=prefix-quota")
	}
	require.Eventually(t, func() bool { return fallback() == 1 }, 10*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool { return fallback() == 0 }, 10*time.Second, 20*time.Millisecond)
	families = scrape(t, m.Endpoint())
	require.Equal(t, 1.0, value(t, families, "metastore_plugin_restarts_total", labels...))
	require.Equal(t, 2.0, value(t, families, "metastore_quota_prefix_keys", "prefix=/a/"), "the usage outlives the plugin process")
}
