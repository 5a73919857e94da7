package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/storage"
)

// testScanIsolation applies a batch while a Scan is under way; the Scan
// must still see the state from before it. An engine may make the batch
// wait for the Scan, so the suite waits only a while for it.
func testScanIsolation(t *testing.T, h harness) {
	for _, reverse := range []bool{false, true} {
		t.Run(fmt.Sprintf("reverse=%v", reverse), func(t *testing.T) {
			e, _ := h.open(t)
			var before, after []storage.Op
			for i := range 50 {
				key := fmt.Sprintf("k%02d", i)
				before = append(before, put("ns", key, "old"))
				after = append(after, put("ns", key, "new"))
			}
			after = append(after, del("ns", "k25"), put("ns", "k25x", "new"), put("ns", "a", "new"))
			apply(t, e, before...)

			done := make(chan error, 1)
			var seen []kv
			err := e.Scan(context.Background(), storage.ScanRequest{Namespace: "ns", Reverse: reverse},
				func(p storage.KeyValue) bool {
					if seen == nil {
						go func() {
							_, err := e.ApplyBatch(context.Background(), storage.ApplyBatchRequest{Ops: after})
							done <- err
						}()
						waitOrTimeout(done, time.Second)
					}
					seen = append(seen, kv{string(p.Key), string(p.Value)})
					return true
				})
			require.NoError(t, err)
			require.NoError(t, <-done)
			want := model{}
			want.apply(before)
			require.Equal(t, want.scan(storage.ScanRequest{Namespace: "ns", Reverse: reverse}), seen)
			want.apply(after)
			require.Equal(t, want.scan(storage.ScanRequest{Namespace: "ns"}), dump(t, e, "ns"))
		})
	}
}

// waitOrTimeout waits for done to be ready, and puts back what it received.
func waitOrTimeout(done chan error, d time.Duration) {
	select {
	case err := <-done:
		done <- err
	case <-time.After(d):
	}
}

// testConcurrentReaders runs readers of every kind against a writer whose
// batches each set all keys of two namespaces to one generation number. No
// reader may ever see two generations at once.
func testConcurrentReaders(t *testing.T, h harness) {
	e, _ := h.open(t)
	const keys, generations = 20, 60
	generation := func(g int) []storage.Op {
		var ops []storage.Op
		for i := range keys {
			key := fmt.Sprintf("k%02d", i)
			ops = append(ops, put("gen", key, strconv.Itoa(g)), put("gen2", key, strconv.Itoa(g)))
		}
		return ops
	}
	apply(t, e, generation(0)...)

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for _, read := range []func(storage.Engine) error{readGetMany, readScan, readSnapshot} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if err := read(e); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for g := 1; g <= generations; g++ {
		_, err := e.ApplyBatch(context.Background(), storage.ApplyBatchRequest{Ops: generation(g), ConsistentIndex: uint64(g)})
		require.NoError(t, err)
	}
	stop()
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, uint64(generations), snapshotIndex(t, e))
}

// oneGeneration checks that values holds n copies of one value.
func oneGeneration(what string, values []string, n int) error {
	if len(values) != n {
		return fmt.Errorf("%s saw %d keys, want %d", what, len(values), n)
	}
	for _, v := range values {
		if v != values[0] {
			return fmt.Errorf("%s saw a partial batch: %q", what, values)
		}
	}
	return nil
}

func readGetMany(e storage.Engine) error {
	req := storage.GetManyRequest{Namespace: "gen"}
	for i := range 20 {
		req.Keys = append(req.Keys, fmt.Appendf(nil, "k%02d", i))
	}
	resp, err := e.GetMany(context.Background(), req)
	if err != nil {
		return err
	}
	var values []string
	for i, v := range resp.Values {
		if resp.Found[i] {
			values = append(values, string(v))
		}
	}
	return oneGeneration("GetMany", values, 20)
}

func readScan(e storage.Engine) error {
	var values []string
	err := e.Scan(context.Background(), storage.ScanRequest{Namespace: "gen"}, func(p storage.KeyValue) bool {
		values = append(values, string(p.Value))
		return true
	})
	if err != nil {
		return err
	}
	return oneGeneration("Scan", values, 20)
}

func readSnapshot(e storage.Engine) error {
	var buf bytes.Buffer
	resp, err := e.Snapshot(context.Background(), storage.SnapshotRequest{Writer: &buf})
	if err != nil {
		return err
	}
	sr, err := storage.NewSnapshotReader(&buf)
	if err != nil {
		return err
	}
	var values []string
	for {
		_, _, value, err := sr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		values = append(values, string(value))
	}
	if err := oneGeneration("Snapshot", values, 40); err != nil {
		return err
	}
	if g := strconv.FormatUint(resp.ConsistentIndex, 10); g != values[0] && resp.ConsistentIndex != 0 {
		return fmt.Errorf("Snapshot index %d with data of generation %s", resp.ConsistentIndex, values[0])
	}
	return nil
}
