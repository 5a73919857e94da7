package mvcc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/bits"
	"sync"

	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/metastore/metastore/pluginapi/storage"
)

// RangeOptions shape a Range.
type RangeOptions struct {
	// Limit caps the number of KVs returned; 0 means no limit.
	Limit int64
	// Rev is the revision to read at; 0 means the current revision.
	Rev int64
	// KeysOnly reads the key index alone: the returned KVs have no Value
	// and no Lease, as etcd's keys-only read (its FastKeysOnly) answers.
	KeysOnly bool
	// CountOnly returns only Count, no KVs.
	CountOnly bool
	// Pooled takes the KVs of a large range (minPooledKVs or more) from
	// a pool; the caller hands them back with RangeResult.Release once
	// nothing reads them any more.
	Pooled bool
}

// RangeResult answers a Range.
type RangeResult struct {
	// KVs are the live keys at the read revision, sorted by key, at most
	// Limit of them.
	KVs []*mvccpb.KeyValue
	// Rev is the store's current revision (the transaction's, in a write
	// transaction), whatever revision was read at, as in etcd.
	Rev int64
	// Count is the number of live keys in the range at the read revision,
	// ignoring Limit.
	Count int

	slab *kvSlab // where KVs came from, when pooled
}

// Pooled reports whether the KVs came from the pool, to go back with
// Release.
func (r *RangeResult) Pooled() bool { return r.slab != nil }

// Release hands pooled KVs back to the pool: after it, neither KVs nor
// any copy of their pointers may be read. For KVs not pooled it does
// nothing.
func (r *RangeResult) Release() {
	if r.slab != nil {
		r.slab.release()
		r.slab = nil
	}
	r.KVs = nil
}

// Range reads the live keys of a range at ro.Rev (0: the current revision).
//
// The range follows etcd: a nil end selects the single key key; an end of
// []byte{0} (or empty but non-nil) selects every key >= key, so key and end
// both []byte{0} select all keys; otherwise the range is [key, end).
//
// Range returns ErrFutureRev if ro.Rev is past the current revision and
// ErrCompacted if it is before the compaction revision (it may equal it),
// also when a compaction overtakes the read (a read at the current
// revision is retried instead). Keys-only and count-only
// ranges read the key index alone; other values come from the write buffer,
// the value cache, then one engine GetMany. The returned KVs are the
// caller's, but their Key and Value bytes are shared and must not be
// modified.
func (s *Store) Range(ctx context.Context, key, end []byte, ro RangeOptions) (*RangeResult, error) {
	s.restoreMu.RLock()
	defer s.restoreMu.RUnlock()
	for {
		res, err := s.rangeKeys(ctx, key, end, ro, s.currentRev.Load(), nil)
		if ro.Rev <= 0 && errors.Is(err, ErrCompacted) {
			// A compaction overtook a read at the then current
			// revision; a read at the current revision never fails so.
			continue
		}
		return res, err
	}
}

// LeasedKeys calls fn, in key order, for every key live at the current
// revision that has a lease, with its lease. It reads the key index alone
// and holds it for reading meanwhile, so fn must not write to the store;
// key is shared and must not be modified or retained (copy it). It is
// meant for rebuilding the leases' keys at start.
func (s *Store) LeasedKeys(fn func(key []byte, lease int64)) {
	s.restoreMu.RLock()
	defer s.restoreMu.RUnlock()
	s.index.leased(s.currentRev.Load(), fn)
}

// rangeKeys reads at ro.Rev as seen from curRev; tw, when not nil, is the
// write transaction whose unpublished changes the read may see.
func (s *Store) rangeKeys(ctx context.Context, key, end []byte, ro RangeOptions, curRev int64, tw *TxnWrite) (*RangeResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rev := ro.Rev
	if rev > curRev {
		return nil, ErrFutureRev
	}
	if rev <= 0 {
		rev = curRev
	}
	if rev < s.compactRev.Load() {
		return nil, ErrCompacted
	}
	res := &RangeResult{Rev: curRev}
	switch {
	case ro.CountOnly:
		res.Count = s.index.count(key, end, rev)
	case ro.KeysOnly:
		res.KVs, res.Count = s.index.rangeKeyValues(key, end, rev, ro.Limit)
	default:
		buf := getMetas()
		metas, total := s.index.rangeMeta(key, end, rev, ro.Limit, (*buf)[:0])
		res.Count = total
		if ro.Pooled && len(metas) >= minPooledKVs && len(metas) <= maxPooledKVs {
			res.slab = getKVSlab(len(metas))
			res.KVs = res.slab.fill(metas)
		} else {
			res.KVs = newKeyValues(metas)
		}
		err := s.fillValues(ctx, rev, metas, res.KVs, tw)
		putMetas(buf, metas)
		if err != nil {
			return nil, err
		}
	}
	// A compaction that started meanwhile may have trimmed what was read.
	if rev < s.compactRev.Load() {
		return nil, ErrCompacted
	}
	return res, nil
}

// metasPool recycles the index entries a range collects before it builds
// its KVs: a range of a thousand keys would otherwise allocate (and grow)
// 64 KB of them per call.
var metasPool = sync.Pool{New: func() any { return new([]keyMeta) }}

// maxPooledMetas bounds what a pooled slice keeps, so one huge range does
// not pin its entries' memory.
const maxPooledMetas = 1 << 16

func getMetas() *[]keyMeta { return metasPool.Get().(*[]keyMeta) }

// putMetas returns the slice used, cleared of its key references, to the
// pool.
func putMetas(buf *[]keyMeta, used []keyMeta) {
	if cap(used) > maxPooledMetas {
		return
	}
	clear(used)
	*buf = used[:0]
	metasPool.Put(buf)
}

// newKeyValues builds KVs without values from index entries, all in one
// allocation.
func newKeyValues(metas []keyMeta) []*mvccpb.KeyValue {
	if len(metas) == 0 {
		return nil
	}
	s := kvSlab{kvs: make([]*mvccpb.KeyValue, len(metas)), slab: make([]mvccpb.KeyValue, len(metas))}
	return s.fill(metas)
}

// A large range's KVs are pooled when asked (RangeOptions.Pooled): a
// range of a thousand keys otherwise allocates 120 KB of them per call,
// which its reply holds only until it is marshalled, and at a thousand
// such ranges a second they were nine tenths of what a member allocated.
// Smaller ranges gain nothing worth a pool's bookkeeping; larger ones
// (past 4,096 KVs, 512 KB a slab) would pin too much in it.
const (
	minPooledShift = 6 // 64 KVs
	maxPooledShift = 12
	minPooledKVs   = 1 << minPooledShift
	maxPooledKVs   = 1 << maxPooledShift
)

// kvSlab holds the KVs of one range and the pointers to them that the
// reply lists.
type kvSlab struct {
	kvs  []*mvccpb.KeyValue
	slab []mvccpb.KeyValue
	used int // the KVs fill set
}

// kvSlabs pools slabs by capacity, a power of two from minPooledKVs to
// maxPooledKVs.
var kvSlabs [maxPooledShift - minPooledShift + 1]sync.Pool

// kvSlabClass returns the class of the smallest slab that holds n KVs,
// minPooledKVs <= n <= maxPooledKVs.
func kvSlabClass(n int) int { return max(bits.Len(uint(n-1)), minPooledShift) - minPooledShift }

// getKVSlab returns a slab of at least n KVs, each zero.
func getKVSlab(n int) *kvSlab {
	c := kvSlabClass(n)
	if s, ok := kvSlabs[c].Get().(*kvSlab); ok {
		return s
	}
	size := minPooledKVs << c
	return &kvSlab{kvs: make([]*mvccpb.KeyValue, size), slab: make([]mvccpb.KeyValue, size)}
}

// fill sets the slab's first len(metas) KVs, without values, from index
// entries, and returns the pointers to them.
func (s *kvSlab) fill(metas []keyMeta) []*mvccpb.KeyValue {
	kvs := s.kvs[:len(metas)]
	s.used = len(metas)
	for i, m := range metas {
		kv := &s.slab[i]
		kv.Key, kv.CreateRevision, kv.ModRevision = m.key, m.created, m.mod.main
		kv.Version, kv.Lease = m.version, m.lease
		kvs[i] = kv
	}
	return kvs
}

// release zeroes the slab, so the pool pins no key or value, and puts it
// back.
func (s *kvSlab) release() {
	clear(s.slab[:s.used])
	clear(s.kvs[:s.used])
	s.used = 0
	kvSlabs[kvSlabClass(len(s.slab))].Put(s)
}

// fillBatch is how many keys fillValues looks up under one hold of the
// write buffer's and the value cache's read locks. With an exclusive lock
// taken once a key (the cache's, before it shared reads), concurrent
// large ranges contended on every key: readers parked midway, others
// started theirs, and under twenty clients of 1,000-key ranges up to all
// twenty half-built replies were held at once, where two processors
// build two.
//
// The batch's two index arrays sit in fillValues' stack frame, which every
// range has, one key or many, on a gRPC worker's stack. At 256 keys the
// frame was 4.6 KB and pushed the workers' stacks past 16 KB to 32: the
// 128 workers' stacks took 2.9 MB under range-1000 against 2.0 MB at 64
// keys, and the run's peak RSS 45–48 MiB against 44–45 (four alternating
// runs each). Locking four times as often costs nothing measurable there.
const fillBatch = 64

// fillValues sets the values of kvs, read at rev: from tw's own changes,
// the write buffer, the value cache, and the rest with one GetMany.
func (s *Store) fillValues(ctx context.Context, rev int64, metas []keyMeta, kvs []*mvccpb.KeyValue, tw *TxnWrite) error {
	var (
		missing    []int
		todo, rest [fillBatch]int
	)
	for lo := 0; lo < len(metas); lo += fillBatch {
		hi := min(lo+fillBatch, len(metas))
		t := todo[:0]
		for i := lo; i < hi; i++ {
			if v, ok := tw.value(metas[i].mod); ok {
				kvs[i].Value = v
			} else {
				t = append(t, i)
			}
		}
		missing = s.cache.fill(metas, kvs, s.buf.fill(metas, kvs, t, rest[:0]), missing)
	}
	if len(missing) == 0 {
		return nil
	}
	req := storage.GetManyRequest{Namespace: nsKey, Keys: make([][]byte, len(missing))}
	for j, i := range missing {
		req.Keys[j] = revBytes(metas[i].mod, false)
	}
	resp, err := s.eng.GetMany(ctx, req)
	if err != nil {
		return fmt.Errorf("mvcc: reading %d values: %w", len(missing), err)
	}
	if len(resp.Values) != len(missing) || len(resp.Found) != len(missing) {
		return fmt.Errorf("mvcc: engine answered %d of %d values", len(resp.Values), len(missing))
	}
	for j, i := range missing {
		v, err := s.decodeValue(rev, metas[i], resp.Values[j], resp.Found[j])
		if err != nil {
			return err
		}
		kvs[i].Value = v
	}
	s.cache.addFilled(metas, kvs, missing)
	return nil
}

// decodeValue extracts the value of an engine record of m.
func (s *Store) decodeValue(rev int64, m keyMeta, data []byte, found bool) ([]byte, error) {
	if !found {
		if rev < s.compactRev.Load() {
			return nil, ErrCompacted
		}
		return nil, fmt.Errorf("mvcc: revision %v of key %q missing from the engine", m.mod, m.key)
	}
	v, err := decodeStoredValue(data)
	if err != nil {
		return nil, fmt.Errorf("%w: value of revision %v: %w", storage.ErrCorrupt, m.mod, err)
	}
	// The record must be the one asked for: an engine that answers with
	// another key's record, or another revision's, would have it served.
	got, err := decodeStoredMeta(data)
	if err != nil {
		return nil, fmt.Errorf("%w: value of revision %v: %w", storage.ErrCorrupt, m.mod, err)
	}
	if !bytes.Equal(got.key, m.key) || got.created != m.created || got.version != m.version {
		return nil, fmt.Errorf("%w: the engine answered revision %v of key %q (created %d, version %d) with a record of key %q (created %d, version %d)",
			storage.ErrCorrupt, m.mod, m.key, m.created, m.version, got.key, got.created, got.version)
	}
	return v, nil
}
