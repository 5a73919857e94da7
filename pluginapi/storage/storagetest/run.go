package storagetest

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/storage"
)

// Factory returns a new engine, not yet opened, for the directory dir. The
// suite opens it with dir and closes it when the test ends. The factory may be
// called again with the same dir after the first engine is closed, to check
// that a durable engine reopens its data.
type Factory func(t *testing.T, dir string) storage.Engine

// Run runs the whole conformance suite against the engines open returns,
// each case as a subtest.
func Run(t *testing.T, open Factory) {
	h := harness{factory: open}
	cases := []struct {
		name string
		fn   func(*testing.T, harness)
	}{
		{"Info", testInfo},
		{"Lifecycle", testLifecycle},
		{"InvalidRequests", testInvalidRequests},
		{"PutGetDelete", testPutGetDelete},
		{"GetMany", testGetMany},
		{"Scan", testScan},
		{"ScanEarlyStop", testScanEarlyStop},
		{"Namespaces", testNamespaces},
		{"BatchOrdering", testBatchOrdering},
		{"BatchAtomicity", testBatchAtomicity},
		{"ConsistentIndex", testConsistentIndex},
		{"ScanIsolation", testScanIsolation},
		{"ConcurrentReaders", testConcurrentReaders},
		{"SnapshotRestore", testSnapshotRestore},
		{"RestoreReplaces", testRestoreReplaces},
		{"RestoreCorrupt", testRestoreCorrupt},
		{"Stats", testStats},
		{"Defrag", testDefrag},
		{"DefragConcurrentWrites", testDefragConcurrentWrites},
		{"RandomOperations", testRandomOperations},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, h) })
	}
}

// harness creates engines for the cases.
type harness struct {
	factory Factory
}

// newEngine returns an engine that has not been opened; its directory does
// not exist yet, so Open must create it.
func (h harness) newEngine(t *testing.T) (storage.Engine, string) {
	dir := filepath.Join(t.TempDir(), "engine")
	return h.factory(t, dir), dir
}

// open returns an open engine in a new directory.
func (h harness) open(t *testing.T) (storage.Engine, string) {
	e, dir := h.newEngine(t)
	openEngine(t, e, dir)
	return e, dir
}

// reopen opens a new engine on dir, returning it and the consistent index
// that Open reported.
func (h harness) reopen(t *testing.T, dir string) (storage.Engine, uint64) {
	e := h.factory(t, dir)
	return e, openEngine(t, e, dir)
}

func openEngine(t *testing.T, e storage.Engine, dir string) uint64 {
	resp, err := e.Open(context.Background(), storage.OpenRequest{Dir: dir})
	require.NoError(t, err, "Open")
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	return resp.ConsistentIndex
}

func info(t *testing.T, e storage.Engine) storage.InfoResponse {
	resp, err := e.Info(context.Background())
	require.NoError(t, err, "Info")
	return resp
}

func hasCapability(t *testing.T, e storage.Engine, capability string) bool {
	return slices.Contains(info(t, e).Capabilities, capability)
}
