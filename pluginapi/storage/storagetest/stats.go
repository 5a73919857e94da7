package storagetest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/storage"
)

func stats(t *testing.T, e storage.Engine) storage.StatsResponse {
	resp, err := e.Stats(context.Background(), storage.StatsRequest{CountKeys: true})
	require.NoError(t, err, "Stats")
	require.GreaterOrEqual(t, resp.SizeInUseBytes, int64(0), "SizeInUseBytes")
	require.GreaterOrEqual(t, resp.SizeBytes, resp.SizeInUseBytes, "SizeBytes")
	// Sizes alone are what the host asks for on every quota check. (An
	// engine may compact files in the background, so they need not equal
	// the sizes above.)
	sizes, err := e.Stats(context.Background(), storage.StatsRequest{})
	require.NoError(t, err, "Stats without key counts")
	require.GreaterOrEqual(t, sizes.SizeInUseBytes, int64(0), "SizeInUseBytes without key counts")
	require.GreaterOrEqual(t, sizes.SizeBytes, sizes.SizeInUseBytes, "SizeBytes without key counts")
	return resp
}

// requireKeyCounts checks Stats.Keys against m: equal counts for namespaces
// holding keys, zero or absent for the others.
func requireKeyCounts(t *testing.T, resp storage.StatsResponse, m model) {
	t.Helper()
	for ns, keys := range m {
		require.Equal(t, int64(len(keys)), resp.Keys[ns], "Stats.Keys[%q]", ns)
	}
	for ns, n := range resp.Keys {
		if _, ok := m[ns]; !ok {
			require.Zero(t, n, "Stats.Keys[%q] for a namespace never written", ns)
		}
	}
}

func testStats(t *testing.T, h harness) {
	e, _ := h.open(t)
	requireKeyCounts(t, stats(t, e), model{})
	m := model{}
	var ops []storage.Op
	for i := range 100 {
		ops = append(ops, put("a", fmt.Sprintf("k%03d", i), strings.Repeat("v", 100)))
	}
	for i := range 10 {
		ops = append(ops, put("b", fmt.Sprintf("k%03d", i), "v"))
	}
	for i := range 5 {
		ops = append(ops, del("a", fmt.Sprintf("k%03d", i*7)))
	}
	apply(t, e, ops...)
	m.apply(ops)
	resp := stats(t, e)
	requireKeyCounts(t, resp, m)
	require.Positive(t, resp.SizeBytes, "SizeBytes with data")
	require.Positive(t, resp.SizeInUseBytes, "SizeInUseBytes with data")
}

// fillForDefrag writes n keys with 1 KiB values to two namespaces, then
// deletes most of them, leaving space to reclaim.
func fillForDefrag(t *testing.T, e storage.Engine, n int) model {
	m := model{}
	value := strings.Repeat("d", 1<<10)
	for start := 0; start < n; start += 500 {
		var ops []storage.Op
		for i := start; i < min(n, start+500); i++ {
			ops = append(ops, put([]string{"a", "b"}[i%2], fmt.Sprintf("key%06d", i), value))
		}
		apply(t, e, ops...)
		m.apply(ops)
	}
	var ops []storage.Op
	for i := range n {
		if i%10 != 0 {
			ops = append(ops, del([]string{"a", "b"}[i%2], fmt.Sprintf("key%06d", i)))
		}
	}
	applyIndex(t, e, 77, ops...)
	m.apply(ops)
	return m
}

func testDefrag(t *testing.T, h harness) {
	e, dir := h.open(t)
	d, ok := e.(storage.Defragmenter)
	if !ok {
		t.Skip("engine does not implement storage.Defragmenter")
	}
	m := fillForDefrag(t, e, 4000)
	resp, err := d.Defrag(context.Background(), storage.DefragRequest{})
	require.NoError(t, err, "Defrag")
	require.Positive(t, resp.SizeBefore)
	require.LessOrEqual(t, resp.SizeAfter, resp.SizeBefore)
	requireContent(t, e, m, "a", "b")
	requireKeyCounts(t, stats(t, e), m)
	require.Equal(t, uint64(77), snapshotIndex(t, e))

	ops := []storage.Op{put("a", "after", "defrag")}
	applyIndex(t, e, 78, ops...)
	m.apply(ops)
	requireContent(t, e, m, "a", "b")
	if hasCapability(t, e, storage.CapabilityDurable) {
		require.NoError(t, e.Close(context.Background()))
		e, index := h.reopen(t, dir)
		require.Equal(t, uint64(78), index)
		requireContent(t, e, m, "a", "b")
	}
}

// testDefragConcurrentWrites applies batches and reads while Defrag runs;
// none may be lost.
func testDefragConcurrentWrites(t *testing.T, h harness) {
	e, dir := h.open(t)
	d, ok := e.(storage.Defragmenter)
	if !ok {
		t.Skip("engine does not implement storage.Defragmenter")
	}
	m := fillForDefrag(t, e, 4000)
	done := make(chan error, 1)
	go func() {
		_, err := d.Defrag(context.Background(), storage.DefragRequest{})
		done <- err
	}()
	var defragErr error
	index := uint64(100)
	for running := true; running || index < 120; index++ {
		select {
		case defragErr = <-done:
			running = false
		default:
		}
		ops := []storage.Op{
			put("a", fmt.Sprintf("during%04d", index), "w"),
			del("b", fmt.Sprintf("key%06d", (index%400)*10+1)),
			put("b", fmt.Sprintf("key%06d", (index%400)*10), fmt.Sprint(index)),
		}
		applyIndex(t, e, index, ops...)
		m.apply(ops)
		requireValue(t, e, "a", fmt.Sprintf("during%04d", index), "w")
	}
	require.NoError(t, defragErr, "Defrag")
	requireContent(t, e, m, "a", "b")
	require.Equal(t, index-1, snapshotIndex(t, e))
	if hasCapability(t, e, storage.CapabilityDurable) {
		require.NoError(t, e.Close(context.Background()))
		e, reopened := h.reopen(t, dir)
		require.Equal(t, index-1, reopened)
		requireContent(t, e, m, "a", "b")
	}
}
