package mvcc

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// modelRun drives a Store and the model with the same random operations.
type modelRun struct {
	t     *testing.T
	rng   *rand.Rand
	eng   *memEngine
	s     *Store
	m     *model
	index uint64
}

func TestRandomAgainstModel(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			eng := newMemEngine()
			r := &modelRun{t: t, rng: rand.New(rand.NewPCG(seed, 0)), eng: eng, m: newModel()}
			r.s = openStore(t, eng, testConfig)
			for i := 0; i < 600; i++ {
				r.step()
			}
			r.restart()
		})
	}
}

func (r *modelRun) step() {
	switch n := r.rng.IntN(100); {
	case n < 45:
		r.txn()
	case n < 80:
		r.checkRange(r.s, r.rng.Int64N(r.m.rev+2)-1)
	case n < 88:
		r.compact()
	case n < 95:
		require.NoError(r.t, r.s.Flush(context.Background()))
	default:
		r.restart()
	}
}

// txn runs one write transaction of 0-4 puts and deletes, checking reads of
// its own writes on the way.
func (r *modelRun) txn() {
	t, m := r.t, r.m
	r.index++
	tw := r.s.Write(r.index)
	pending := append([]modelChange(nil), m.history...)
	main, sub := m.rev+1, int64(0)
	for range r.rng.IntN(5) {
		if r.rng.IntN(3) > 0 {
			key := modelKeys[r.rng.IntN(len(modelKeys))]
			value := fmt.Sprintf("v%d", r.rng.IntN(1000))
			lease := r.rng.Int64N(3)
			require.Equal(t, main, tw.Put([]byte(key), []byte(value), lease))
			pending = append(pending, modelChange{rev: revision{main, sub}, key: key, value: value, lease: lease})
			sub++
		} else {
			key, end := randomRange(r.rng)
			wantKVs, _ := rangeState(m.stateAt(main, pending), key, end, 0)
			n, _ := tw.DeleteRange(key, end)
			require.Equal(t, int64(len(wantKVs)), n)
			for _, kv := range wantKVs {
				pending = append(pending, modelChange{rev: revision{main, sub}, key: string(kv.Key), tombstone: true})
				sub++
			}
		}
		key, end := randomRange(r.rng)
		res, err := tw.Range(context.Background(), key, end, RangeOptions{})
		require.NoError(t, err)
		want, count := rangeState(m.stateAt(main, pending), key, end, 0)
		require.Equal(t, count, res.Count)
		requireKVs(t, want, res.KVs)
	}
	evs := tw.End()
	require.Len(t, evs, int(sub))
	m.history = pending
	if sub > 0 {
		m.rev = main
	}
	require.Equal(t, m.rev, r.s.Rev())
}

// checkRange compares a random range at rev with the model.
func (r *modelRun) checkRange(s *Store, rev int64) {
	t, m := r.t, r.m
	key, end := randomRange(r.rng)
	ro := RangeOptions{Rev: rev, Limit: r.rng.Int64N(4)}
	switch r.rng.IntN(4) {
	case 0:
		ro.KeysOnly = true
	case 1:
		ro.CountOnly = true
	}
	res, err := s.Range(context.Background(), key, end, ro)
	switch {
	case rev > m.rev:
		require.ErrorIs(t, err, ErrFutureRev)
		return
	case rev > 0 && rev < m.compactRev:
		require.ErrorIs(t, err, ErrCompacted)
		return
	}
	require.NoError(t, err)
	if rev <= 0 {
		rev = m.rev
	}
	want, count := rangeState(m.stateAt(rev, m.history), key, end, ro.Limit)
	require.Equal(t, m.rev, res.Rev)
	require.Equal(t, count, res.Count, "count of %q..%q at %d", key, end, rev)
	if ro.CountOnly {
		require.Empty(t, res.KVs)
		return
	}
	if ro.KeysOnly {
		want = withoutValues(want)
	}
	requireKVs(t, want, res.KVs)
}

// compact compacts at a random revision, sometimes waiting for it and
// checking the engine holds just what the model says it keeps.
func (r *modelRun) compact() {
	t, m := r.t, r.m
	rev := r.rng.Int64N(m.rev+1) + 1
	r.index++
	done, err := r.s.Compact(r.index, rev)
	switch {
	case rev <= m.compactRev:
		require.ErrorIs(t, err, ErrCompacted)
		return
	case rev > m.rev:
		require.ErrorIs(t, err, ErrFutureRev)
		return
	}
	require.NoError(t, err)
	m.compactRev = rev
	require.Equal(t, rev, r.s.CompactRev())
	if r.rng.IntN(2) == 0 {
		waitDone(t, done)
		require.NoError(t, r.s.Flush(context.Background()))
		require.Equal(t, m.compactedEngineRevs(), engineRevs(t, r.eng))
	}
}

// restart closes the store and opens a new one on the same engine: it
// must answer every range at every readable revision the same, and hash
// the same.
func (r *modelRun) restart() {
	t := r.t
	if r.m.compactRev >= 0 {
		// With no key live, HashKV hashes what compaction has not
		// deleted yet (as etcd): let the queued compactions finish.
		r.index++
		done, err := r.s.Compact(r.index, r.m.compactRev)
		require.ErrorIs(t, err, ErrCompacted)
		waitDone(t, done)
	}
	hash, cr, hr, err := r.s.HashKV(0)
	require.NoError(t, err)
	require.NoError(t, r.s.Close())
	r.s = openStore(t, r.eng, testConfig)
	require.Equal(t, r.m.rev, r.s.Rev())
	require.Equal(t, r.m.compactRev, r.s.CompactRev())
	require.Equal(t, r.index, r.s.ConsistentIndex())
	hash2, cr2, hr2, err := r.s.HashKV(0)
	require.NoError(t, err)
	require.Equal(t, []any{hash, cr, hr}, []any{hash2, cr2, hr2})
	for rev := max(1, r.m.compactRev); rev <= r.m.rev; rev++ {
		for range 3 {
			r.checkRange(r.s, rev)
		}
	}
}
