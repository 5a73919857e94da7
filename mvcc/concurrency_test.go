package mvcc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConcurrentReadersSeeWholeTxns runs readers against a writer whose
// every transaction rewrites all keys with one value (or deletes them all),
// while the flush loop and compactions run: a reader must always see all
// keys with one value or none.
func TestConcurrentReadersSeeWholeTxns(t *testing.T) {
	const keys = 10
	eng := &countingEngine{Engine: newMemEngine()}
	s := openStore(t, eng, Config{FlushInterval: time.Millisecond, CacheBytes: 8 * (cacheEntryOverhead + 8), CompactionBatch: 7, CompactionSleep: time.Microsecond})
	ctx := context.Background()
	var stop atomic.Bool
	var reads atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				ro := RangeOptions{KeysOnly: r == 3}
				if r == 2 {
					ro.Rev = max(1, s.Rev()-3)
				}
				res, err := s.Range(ctx, []byte("k"), []byte("l"), ro)
				if errors.Is(err, ErrCompacted) && ro.Rev != 0 {
					continue
				}
				if err == nil {
					err = checkWhole(res, keys, ro.KeysOnly)
				}
				if err != nil {
					errc <- err
					return
				}
				reads.Add(1)
			}
		}()
	}
	// The writes start once every reader has read: on a loaded machine
	// the writer could otherwise finish before any reader ran.
	require.Eventually(t, func() bool { return reads.Load() >= 4 }, 10*time.Second, time.Millisecond)
	for i := 1; i <= 300; i++ {
		tw := s.Write(uint64(i))
		if i%17 == 0 {
			tw.DeleteRange([]byte("k"), []byte("l"))
		} else {
			for k := range keys {
				tw.Put([]byte(fmt.Sprintf("k%02d", k)), []byte(fmt.Sprintf("v%d", i)), 0)
			}
		}
		tw.End()
		if i%50 == 0 {
			_, err := s.Compact(uint64(i), s.Rev()-5)
			require.NoError(t, err)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		require.NoError(t, err)
	}
	assert.Positive(t, reads.Load())
}

// checkWhole verifies a range saw one whole transaction.
func checkWhole(res *RangeResult, keys int, keysOnly bool) error {
	if res.Count != 0 && res.Count != keys {
		return fmt.Errorf("saw %d of %d keys at %d", res.Count, keys, res.Rev)
	}
	for _, kv := range res.KVs {
		if kv.ModRevision != res.KVs[0].ModRevision {
			return fmt.Errorf("mixed revisions %d and %d", kv.ModRevision, res.KVs[0].ModRevision)
		}
		if !keysOnly && string(kv.Value) != string(res.KVs[0].Value) {
			return fmt.Errorf("mixed values %q and %q", kv.Value, res.KVs[0].Value)
		}
	}
	return nil
}
