package e2e

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// Snapshots written by etcd 3.5 and 3.6 are checked in under
// testdata/etcd-<version>/: snapshot.db.gz (`etcdctl snapshot save`,
// gzipped: it is mostly empty pages) and report.txt, what that etcd
// answered about its state (etcdStateReport, parts separated by a line
// "---"). This test made them itself, run with
//
//	METASTORE_WRITE_ETCD_FIXTURES=3.5=/path/to/etcd-3.5.21,3.6=/path/to/etcd-3.6.8
//
// where each etcd was built from its Go module (go.etcd.io/etcd/server/v3
// at v3.5.21 and v3.6.8): it runs etcdImportHistory on that etcd, saves the
// snapshot, and writes both files.
var etcdFixtureVersions = []string{"3.5", "3.6"}

const reportSeparator = "\n---\n"

// TestImportOlderEtcdSnapshots imports each fixture and requires the
// report etcd gave.
func TestImportOlderEtcdSnapshots(t *testing.T) {
	if spec := os.Getenv("METASTORE_WRITE_ETCD_FIXTURES"); spec != "" {
		writeEtcdFixtures(t, spec)
	}
	for _, v := range etcdFixtureVersions {
		t.Run("etcd-"+v, func(t *testing.T) {
			dir := filepath.Join("testdata", "etcd-"+v)
			file := gunzipTo(t, filepath.Join(dir, "snapshot.db.gz"), filepath.Join(t.TempDir(), "snapshot.db"))
			raw, err := os.ReadFile(filepath.Join(dir, "report.txt"))
			require.NoError(t, err)
			want := strings.Split(string(raw), reportSeparator)

			ms := restoredMember(t, hosttest.MetastoreBin(t), file, hosttest.WithArgs(authArgs...))
			got := etcdStateReport(t, ms, []string{"--user", "root:rootpw"})
			requireSameReport(t, withoutHashRevision(want), withoutHashRevision(got), "MetaStore after importing etcd "+v)
			_, err = ms.Etcdctl(t, "--user", "alice:alicepw", "get", "/app/k01")
			require.NoError(t, err, "a password set on etcd %s logs in", v)
		})
	}
}

// hashRevision is HashKV's hash_revision, which etcd 3.5 does not answer.
var hashRevision = regexp.MustCompile(`,"hash_revision":\d+`)

func withoutHashRevision(report []string) []string {
	out := make([]string, len(report))
	for i, s := range report {
		out[i] = hashRevision.ReplaceAllString(s, "")
	}
	return out
}

func gunzipTo(t *testing.T, src, dst string) string {
	t.Helper()
	in, err := os.Open(src)
	require.NoError(t, err)
	defer in.Close()
	zr, err := gzip.NewReader(in)
	require.NoError(t, err)
	out, err := os.Create(dst)
	require.NoError(t, err)
	defer out.Close()
	_, err = io.Copy(out, zr)
	require.NoError(t, err)
	return dst
}

// writeEtcdFixtures writes the fixtures of the etcd binaries spec names.
func writeEtcdFixtures(t *testing.T, spec string) {
	for _, pair := range strings.Split(spec, ",") {
		v, bin, ok := strings.Cut(pair, "=")
		require.True(t, ok, "METASTORE_WRITE_ETCD_FIXTURES=version=binary,...")
		etcd := hosttest.StartMember(t, hosttest.WithBinary(bin), hosttest.WithArgs(authArgs...))
		root := etcdImportHistory(t, etcd)
		dir := filepath.Join("testdata", "etcd-"+v)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		file := filepath.Join(t.TempDir(), "snapshot.db")
		_, err := etcd.Etcdctl(t, append(root, "snapshot", "save", file)...)
		require.NoError(t, err)
		raw, err := os.ReadFile(file)
		require.NoError(t, err)
		out, err := os.Create(filepath.Join(dir, "snapshot.db.gz"))
		require.NoError(t, err)
		zw, err := gzip.NewWriterLevel(out, gzip.BestCompression)
		require.NoError(t, err)
		_, err = zw.Write(raw)
		require.NoError(t, err)
		require.NoError(t, zw.Close())
		require.NoError(t, out.Close())
		report := etcdStateReport(t, etcd, root)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "report.txt"), []byte(strings.Join(report, reportSeparator)), 0o644))
		t.Logf("wrote the etcd %s fixtures (%d bytes of snapshot)", v, len(raw))
	}
}
