package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/metastore/metastore/host/hosttest"
)

// etcdImportHistory writes, through etcdctl against m, a history of every
// kind of state an import must keep: puts, overwrites, deletes, a txn, a
// compaction, leases with keys, users with passwords, roles with
// permissions, and auth on. It returns the etcdctl flags that authenticate
// as root afterwards.
func etcdImportHistory(t *testing.T, m *hosttest.Process) []string {
	t.Helper()
	run := func(args ...string) string {
		t.Helper()
		out, err := m.Etcdctl(t, args...)
		require.NoError(t, err, "etcdctl %v: %s", args, out)
		return out
	}
	for i := range 30 {
		run("put", fmt.Sprintf("/app/k%02d", i%12), fmt.Sprintf("v%d", i))
	}
	run("del", "/app/k0", "--prefix")
	_, err := m.EtcdctlStdin(t, "\nput /app/txn1 a\nput /app/txn2 b\n\n\n", "txn")
	require.NoError(t, err)
	run("compaction", "20", "--physical")
	run("lease", "grant", "600") // lease IDs are etcd's: the import must keep them
	leases := regexp.MustCompile(`lease ([0-9a-f]+) granted`)
	out := run("lease", "grant", "900")
	id := leases.FindStringSubmatch(out)[1]
	run("put", "/app/leased1", "x", "--lease="+id)
	run("put", "/app/leased2", "y", "--lease="+id)
	run("user", "add", "root:rootpw")
	run("role", "add", "root")
	run("user", "grant-role", "root", "root")
	run("role", "add", "app-rw")
	run("role", "grant-permission", "app-rw", "readwrite", "/app/", "--prefix")
	run("user", "add", "alice:alicepw")
	run("user", "grant-role", "alice", "app-rw")
	run("auth", "enable")
	return []string{"--user", "root:rootpw"}
}

// etcdSnapshot starts etcd 3.7.3, writes etcdImportHistory to it and saves
// its snapshot; it returns etcd, the root flags, the snapshot file and
// etcd's report.
func etcdSnapshot(t *testing.T) (etcd *hosttest.Process, root []string, file string, report []string) {
	t.Helper()
	etcd = hosttest.StartMember(t, hosttest.WithBinary(hosttest.EtcdBin(t)), hosttest.WithArgs(authArgs...))
	root = etcdImportHistory(t, etcd)
	file = filepath.Join(t.TempDir(), "etcd.snapshot")
	_, err := etcd.Etcdctl(t, append(root, "snapshot", "save", file)...)
	require.NoError(t, err)
	return etcd, root, file, etcdStateReport(t, etcd, root)
}

// etcdStateReport is what both servers must answer alike after an import:
// every key with revisions, versions and leases, HashKV at the current
// revision, the leases with their keys, users and roles.
func etcdStateReport(t *testing.T, m *hosttest.Process, root []string) []string {
	t.Helper()
	run := func(args ...string) string {
		t.Helper()
		out, err := m.Etcdctl(t, append(append([]string{}, root...), args...)...)
		require.NoError(t, err, "etcdctl %v: %s", args, out)
		return mask(out)
	}
	report := []string{
		run("get", "", "--from-key", "-w", "json"),
		regexp.MustCompile(`"Endpoint":"[^"]*"`).ReplaceAllString(run("endpoint", "hashkv", "-w", "json"), `"Endpoint":E`),
		run("user", "list"),
		run("role", "get", "app-rw"),
		run("user", "get", "alice"),
	}
	// etcd lists leases, and a lease's keys, in map order.
	list := strings.Split(run("lease", "list"), "\n")
	slices.Sort(list)
	report = append(report, strings.Join(list, "\n"))
	ids := regexp.MustCompile(`(?m)^[0-9a-f]{16}$`).FindAllString(strings.Join(list, "\n"), -1)
	require.NotEmpty(t, ids, "the history grants leases")
	for _, id := range ids {
		report = append(report, maskLease(run("lease", "timetolive", id, "--keys")))
	}
	return report
}

// An etcd 3.7.3 member's data, saved with etcdctl, restored into a new
// MetaStore member: every key at the same revisions, the same HashKV,
// leases with their TTLs and keys, users (old passwords log in), roles and
// auth on; a watch from the last revision seen on etcd resumes with
// nothing missed and nothing repeated.
func TestImportEtcdSnapshot(t *testing.T) {
	etcd, root, file, want := etcdSnapshot(t)
	status, err := userClient(t, etcd, "root", "rootpw").Status(ctxFor(t, 10*time.Second), etcd.Endpoint())
	require.NoError(t, err)
	lastRev := status.Header.Revision

	ms := restoredMember(t, hosttest.MetastoreBin(t), file, hosttest.WithArgs(authArgs...))
	requireSameReport(t, want, etcdStateReport(t, ms, root), "MetaStore after the import")

	_, err = ms.Etcdctl(t, "--user", "alice:alicepw", "get", "/app/k01")
	require.NoError(t, err, "a password set on etcd logs in")
	_, err = ms.Etcdctl(t, "--user", "alice:wrong", "get", "/app/k01")
	require.Error(t, err)

	cli := userClient(t, ms, "root", "rootpw")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wch := cli.Watch(ctx, "/app/", clientv3.WithPrefix(), clientv3.WithRev(lastRev+1))
	put, err := cli.Put(ctx, "/app/after-import", "z")
	require.NoError(t, err)
	require.Equal(t, lastRev+1, put.Header.Revision, "the imported member goes on from etcd's revision")
	resp := <-wch
	require.NoError(t, resp.Err())
	require.Len(t, resp.Events, 1, "a watch from etcd's last revision sees only what came after")
	require.Equal(t, "/app/after-import", string(resp.Events[0].Kv.Key))
	require.Equal(t, lastRev+1, resp.Events[0].Kv.ModRevision)
}

// restoredMember restores file with tool (`metastore snapshot restore` or
// `etcdutl snapshot restore`, which take the same flags) into the data dir
// of a new one-member cluster and starts its member.
func restoredMember(t *testing.T, tool, file string, opts ...hosttest.Option) *hosttest.Process {
	t.Helper()
	m := hosttest.PrepareMember(t, "restored", opts...)
	cluster := m.Name() + "=" + m.PeerURL()
	out, err := exec.Command(tool, "snapshot", "restore", file, "--data-dir", m.DataDir(), "--name", m.Name(),
		"--initial-cluster", cluster, "--initial-advertise-peer-urls", m.PeerURL()).CombinedOutput()
	require.NoError(t, err, "%s snapshot restore: %s", filepath.Base(tool), out)
	m.SetInitialCluster(cluster)
	m.Start()
	m.WaitReady()
	return m
}

func requireSameReport(t *testing.T, want, got []string, what string) {
	t.Helper()
	require.Len(t, got, len(want), what)
	for i := range want {
		require.Equal(t, want[i], got[i], "%s: report line %d differs from etcd's", what, i)
	}
}

// etcd → MetaStore → etcd: etcd's snapshot imported into MetaStore, whose
// snapshot `metastore snapshot export --format etcd` turns into a file
// etcdutl 3.7.3 restores, and etcd started on it answers as the source did.
func TestExportToEtcdRoundTrip(t *testing.T) {
	_, root, fromEtcd, want := etcdSnapshot(t)
	dir := t.TempDir()
	fromMetaStore, exported := filepath.Join(dir, "ms.snap"), filepath.Join(dir, "exported.db")

	ms := restoredMember(t, hosttest.MetastoreBin(t), fromEtcd, hosttest.WithArgs(authArgs...))
	_, err := ms.Etcdctl(t, append(root, "snapshot", "save", fromMetaStore)...)
	require.NoError(t, err)
	out, err := exec.Command(hosttest.MetastoreBin(t), "snapshot", "export", "--format", "etcd", fromMetaStore, exported).CombinedOutput()
	require.NoError(t, err, string(out))

	back := restoredMember(t, hosttest.EtcdutlBin(t), exported,
		hosttest.WithBinary(hosttest.EtcdBin(t)), hosttest.WithArgs(authArgs...))
	requireSameReport(t, want, etcdStateReport(t, back, root), "etcd restored from MetaStore's export")
	_, err = back.Etcdctl(t, "--user", "alice:alicepw", "get", "/app/k01")
	require.NoError(t, err, "a password kept through MetaStore logs in to etcd")
}

// A member's own backend (member/snap/db) has no appended hash: it is
// imported with --skip-hash-check and refused without; a damaged or
// foreign file is a clear error that leaves no data dir behind.
func TestImportEtcdBackendFile(t *testing.T) {
	etcd := hosttest.StartMember(t, hosttest.WithBinary(hosttest.EtcdBin(t)))
	_, err := etcd.Etcdctl(t, "put", "k", "v")
	require.NoError(t, err)
	require.NoError(t, etcd.Stop())
	db := filepath.Join(etcd.DataDir(), "member", "snap", "db")

	restore := func(file string, extra ...string) (string, string, error) {
		dir := filepath.Join(t.TempDir(), "data")
		args := append([]string{"snapshot", "restore", file, "--data-dir", dir}, extra...)
		out, err := exec.Command(hosttest.MetastoreBin(t), args...).CombinedOutput()
		return dir, string(out), err
	}
	dir, out, err := restore(db)
	require.Error(t, err)
	require.Contains(t, out, "--skip-hash-check")
	require.NoDirExists(t, dir, "a refused import leaves no data dir")

	dir, out, err = restore(db, "--skip-hash-check")
	require.NoError(t, err, out)
	require.DirExists(t, filepath.Join(dir, "member", "engine"))
	require.NoDirExists(t, filepath.Join(dir, "import"), "the working copy is removed")

	raw, err := os.ReadFile(db)
	require.NoError(t, err)
	for name, content := range map[string][]byte{
		"truncated":      raw[:3*4096], // the test's db uses 5 pages of 4 KiB (of a 16 MiB file)
		"neither format": []byte(strings.Repeat("not a snapshot\n", 100)),
	} {
		bad := filepath.Join(t.TempDir(), name)
		require.NoError(t, os.WriteFile(bad, content, 0o600))
		dir, out, err := restore(bad, "--skip-hash-check")
		require.Error(t, err, name)
		require.NotEmpty(t, strings.TrimSpace(out), name)
		require.NoDirExists(t, dir, "%s: no data dir left half written", name)
	}
}

// `etcdctl make-mirror` copies a live cluster's keys into another and keeps
// following it: from etcd into MetaStore and from MetaStore into etcd. The
// copy gets the destination's own revisions (make-mirror writes each key
// anew), which is why an offline import is the way to keep them.
func TestMakeMirrorBothWays(t *testing.T) {
	etcd := hosttest.StartMember(t, hosttest.WithBinary(hosttest.EtcdBin(t)))
	ms := hosttest.StartMember(t)
	for _, dir := range []struct {
		name     string
		src, dst *hosttest.Process
	}{{"etcd to MetaStore", etcd, ms}, {"MetaStore to etcd", ms, etcd}} {
		t.Run(dir.name, func(t *testing.T) {
			prefix := "/" + strings.ReplaceAll(dir.name, " ", "-") + "/"
			for i := range 20 {
				_, err := dir.src.Etcdctl(t, "put", fmt.Sprintf("%sk%02d", prefix, i), fmt.Sprintf("v%d", i))
				require.NoError(t, err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			mirror := exec.CommandContext(ctx, hosttest.EtcdctlBin(t), "--endpoints="+dir.src.Endpoint(),
				"make-mirror", "--prefix", prefix, dir.dst.Endpoint())
			var out strings.Builder
			mirror.Stdout, mirror.Stderr = &out, &out
			require.NoError(t, mirror.Start())
			t.Cleanup(func() { cancel(); _ = mirror.Wait() })

			keys := func(m *hosttest.Process) string {
				got, err := m.Etcdctl(t, "get", prefix, "--prefix")
				require.NoError(t, err)
				return got
			}
			want := keys(dir.src)
			require.Eventually(t, func() bool { return keys(dir.dst) == want }, 30*time.Second, 100*time.Millisecond,
				"the existing keys are copied; make-mirror said: %s", &out)
			_, err := dir.src.Etcdctl(t, "put", prefix+"later", "w")
			require.NoError(t, err)
			_, err = dir.src.Etcdctl(t, "del", prefix+"k03")
			require.NoError(t, err)
			want = keys(dir.src)
			require.Eventually(t, func() bool { return keys(dir.dst) == want }, 30*time.Second, 100*time.Millisecond,
				"later writes and deletes follow; make-mirror said: %s", &out)
		})
	}
}

// The import writes any engine, plugins included: here the RocksDB plugin
// of the member's config file.
func TestImportEtcdSnapshotIntoPluginEngine(t *testing.T) {
	_, root, file, want := etcdSnapshot(t)

	bin := pluginBin(t, "rocksdb")
	cfgFile := pluginConfigFile(t, "rocksdb", bin, fileSum(t, bin))
	m := hosttest.PrepareMember(t, "restored", hosttest.WithArgs(append([]string{"--config-file", cfgFile}, authArgs...)...))
	cluster := m.Name() + "=" + m.PeerURL()
	out, err := exec.Command(hosttest.MetastoreBin(t), "snapshot", "restore", file, "--data-dir", m.DataDir(), "--name", m.Name(),
		"--initial-cluster", cluster, "--initial-advertise-peer-urls", m.PeerURL(),
		"--config-file", cfgFile, "--storage-engine", "rocksdb-plugin").CombinedOutput()
	require.NoError(t, err, "restore into the plugin: %s", out)
	m.SetInitialCluster(cluster)
	m.Start()
	m.WaitReady()
	requireSameReport(t, want, etcdStateReport(t, m, root), "MetaStore on the RocksDB plugin after the import")
}
