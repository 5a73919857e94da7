package mvcc

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// copyEngine replaces dst's content with src's, as Engine.Restore of a
// snapshot of src would, and returns the consistent index.
func copyEngine(dst, src *memEngine) uint64 {
	src.mu.RLock()
	defer src.mu.RUnlock()
	dst.mu.Lock()
	defer dst.mu.Unlock()
	clear(dst.ns)
	for name, t := range src.ns {
		dst.ns[name] = t.Clone()
	}
	dst.ci = src.ci
	return dst.ci
}

func TestRestoreReplacesStateAndCatchesUpWatchers(t *testing.T) {
	ctx := context.Background()
	leader, leaderEng := newTestStore(t)
	follower, followerEng := newTestStore(t)

	// Both apply the same first entries; then the follower falls behind.
	for i := range 5 {
		put(leader, fmt.Sprintf("k%d", i), "v1")
		put(follower, fmt.Sprintf("k%d", i), "v1")
	}
	ws := follower.NewWatchStream()
	defer ws.Close()
	all, err := ws.Watch(WatchRequest{ID: AutoWatchID, Key: []byte("k"), End: []byte("l")})
	require.NoError(t, err)
	responses(t, ws, 1) // created
	put(leader, "k0", "v2")
	put(follower, "k0", "v2")
	seen := follower.Rev()
	for i := range 20 {
		put(leader, fmt.Sprintf("k%d", i%7), fmt.Sprintf("v%d", i+2))
	}
	del(leader, "k6", "")
	require.NoError(t, leader.Flush(ctx))

	// Readers run throughout and never see an error.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, err := follower.Range(ctx, []byte{0}, []byte{0}, RangeOptions{})
			if err != nil {
				t.Errorf("range during restore: %v", err)
				return
			}
		}
	}()

	err = follower.Restore(ctx, func(context.Context) (uint64, error) {
		return copyEngine(followerEng, leaderEng), nil
	})
	close(stop)
	wg.Wait()
	require.NoError(t, err)

	require.Equal(t, leader.Rev(), follower.Rev())
	require.Equal(t, leader.ConsistentIndex(), follower.ConsistentIndex())
	require.Equal(t, leader.ConsistentIndex(), follower.PersistedIndex())
	requireKVs(t, rangeAll(t, leader, 0).KVs, rangeAll(t, follower, 0).KVs)

	// The watcher had seen the follower's last revision; it now catches
	// up with the revisions the snapshot skipped, then follows new writes.
	rs := receive(t, ws, untilEvents(all, 1+int(leader.Rev()-seen)))
	evs := watcherEvents(rs, all)
	for i, ev := range evs {
		require.Equal(t, seen+int64(i), ev.Kv.ModRevision)
	}
	require.Equal(t, leader.Rev(), evs[len(evs)-1].Kv.ModRevision)
	require.Equal(t, mvccpb.DELETE, evs[len(evs)-1].Type)
	// (Hashed once the watcher has caught up: the test engine allows one
	// scan at a time.)
	lh, _, _, err := leader.HashKV(0)
	require.NoError(t, err)
	fh, _, _, err := follower.HashKV(0)
	require.NoError(t, err)
	require.Equal(t, lh, fh)

	rev := put(follower, "k1", "after")
	rs = receive(t, ws, untilEvents(all, 1))
	require.Equal(t, rev, watcherEvents(rs, all)[0].Kv.ModRevision)

	// Writes continue on the restored state, and survive a flush.
	require.NoError(t, follower.Flush(ctx))
	require.Equal(t, follower.ConsistentIndex(), followerEng.ci)
}

func TestRestoreRefusesOlderState(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestStore(t)
	put(s, "a", "1")
	put(s, "b", "1")
	old := newMemEngine()
	called := false
	err := s.Restore(ctx, func(context.Context) (uint64, error) {
		called = true
		return old.ci, nil
	})
	require.True(t, called)
	require.ErrorIs(t, err, ErrRestoreBehind)
}
