package storagetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/storage"
)

// loadSnapshotData fills e with a mix of namespaces, binary keys, empty and
// large values, and returns the model of what it holds.
func loadSnapshotData(t *testing.T, e storage.Engine, index uint64) model {
	ops := []storage.Op{
		put("a", "k1", "v1"), put("a", "\x00bin\xff", "binary"), put("a", "empty", ""),
		put("b", "big", strings.Repeat("x", 300<<10)), put("b", "k1", "b1"),
		put("emptied", "k", "v"), del("emptied", "k"),
	}
	for _, k := range scanKeys {
		ops = append(ops, put("scan", k, k))
	}
	applyIndex(t, e, index, ops...)
	m := model{}
	m.apply(ops)
	return m
}

// requireContent checks that e holds exactly what m holds in the given
// namespaces.
func requireContent(t *testing.T, e storage.Engine, m model, namespaces ...string) {
	t.Helper()
	for _, ns := range namespaces {
		require.Equal(t, nonNil(m.scan(storage.ScanRequest{Namespace: ns})), nonNil(dump(t, e, ns)), "namespace %q", ns)
	}
}

func takeSnapshot(t *testing.T, e storage.Engine) (*bytes.Buffer, storage.SnapshotResponse) {
	var buf bytes.Buffer
	resp, err := e.Snapshot(context.Background(), storage.SnapshotRequest{Writer: &buf})
	require.NoError(t, err, "Snapshot")
	require.Equal(t, int64(buf.Len()), resp.Bytes, "SnapshotResponse.Bytes")
	return &buf, resp
}

func testSnapshotRestore(t *testing.T, h harness) {
	src, _ := h.open(t)
	m := loadSnapshotData(t, src, 42)
	buf, resp := takeSnapshot(t, src)
	require.Equal(t, uint64(42), resp.ConsistentIndex)
	requireSnapshotOrder(t, buf.Bytes(), m)

	dst, dir := h.open(t)
	restored, err := dst.Restore(context.Background(), storage.RestoreRequest{Reader: buf})
	require.NoError(t, err, "Restore")
	require.Equal(t, uint64(42), restored.ConsistentIndex)
	require.Equal(t, uint64(42), snapshotIndex(t, dst))
	all := []string{"a", "b", "emptied", "scan"}
	requireContent(t, dst, m, all...)

	ops := []storage.Op{put("a", "after", "restore"), del("a", "k1")}
	applyIndex(t, dst, 43, ops...)
	m.apply(ops)
	requireContent(t, dst, m, all...)
	if hasCapability(t, dst, storage.CapabilityDurable) {
		require.NoError(t, dst.Close(context.Background()))
		dst, index := h.reopen(t, dir)
		require.Equal(t, uint64(43), index)
		requireContent(t, dst, m, all...)
	}
}

// requireSnapshotOrder checks the snapshot holds m's entries sorted by
// namespace, then key.
func requireSnapshotOrder(t *testing.T, data []byte, m model) {
	sr, err := storage.NewSnapshotReader(bytes.NewReader(data))
	require.NoError(t, err)
	var want []record
	for _, ns := range m.namespaces() {
		for _, p := range m.scan(storage.ScanRequest{Namespace: ns}) {
			want = append(want, record{ns, p.Key, p.Value})
		}
	}
	var got []record
	for {
		ns, key, value, err := sr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		got = append(got, record{ns, string(key), string(value)})
	}
	require.Equal(t, want, got, "snapshot entries, in namespace then key order")
}

type record struct{ Namespace, Key, Value string }

func testRestoreReplaces(t *testing.T, h harness) {
	src, _ := h.open(t)
	m := loadSnapshotData(t, src, 42)
	buf, _ := takeSnapshot(t, src)

	dst, dir := h.open(t)
	applyIndex(t, dst, 99, put("a", "k1", "stale"), put("a", "extra", "x"), put("c", "only-c", "x"))
	restored, err := dst.Restore(context.Background(), storage.RestoreRequest{Reader: buf})
	require.NoError(t, err)
	require.Equal(t, uint64(42), restored.ConsistentIndex, "the snapshot's index, even if lower")
	requireContent(t, dst, m, "a", "b", "c", "scan")
	stats, err := dst.Stats(context.Background(), storage.StatsRequest{CountKeys: true})
	require.NoError(t, err)
	require.Zero(t, stats.Keys["c"], "namespace c after Restore")
	if hasCapability(t, dst, storage.CapabilityDurable) {
		require.NoError(t, dst.Close(context.Background()))
		dst, index := h.reopen(t, dir)
		require.Equal(t, uint64(42), index)
		requireContent(t, dst, m, "a", "b", "c", "scan")
	}
}

func testRestoreCorrupt(t *testing.T, h harness) {
	src, _ := h.open(t)
	m := loadSnapshotData(t, src, 42)
	buf, _ := takeSnapshot(t, src)
	data := buf.Bytes()

	flipped := bytes.Clone(data)
	flipped[len(flipped)/2] ^= 0x01
	damaged := map[string][]byte{
		"flipped byte": flipped,
		"truncated":    data[:len(data)-10],
		"bad magic":    append([]byte("NOTASNAP"), data[8:]...),
		"empty":        {},
	}
	dst, _ := h.open(t)
	for name, bad := range damaged {
		_, err := dst.Restore(context.Background(), storage.RestoreRequest{Reader: bytes.NewReader(bad)})
		require.ErrorIs(t, err, storage.ErrCorrupt, name)
	}
	_, err := dst.Restore(context.Background(), storage.RestoreRequest{Reader: bytes.NewReader(data)})
	require.NoError(t, err, "a good Restore after failed ones")
	requireContent(t, dst, m, "a", "b", "scan")
}
