package mvcc

import (
	"bytes"
	"sync"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// treeIndex maps keys to their keyIndex, ordered by key. It is safe for
// concurrent use; readers at a revision never see revisions added after it,
// so one writer and many readers need no other coordination.
type treeIndex struct {
	mu   sync.RWMutex
	tree *keyTree
}

// newTreeIndex returns an empty index.
func newTreeIndex() *treeIndex { return &treeIndex{tree: newKeyTree()} }

// isFromKey reports whether end selects every key from the start key on:
// etcd's "\x00" convention, or an empty non-nil end.
func isFromKey(end []byte) bool {
	return end != nil && (len(end) == 0 || (len(end) == 1 && end[0] == 0))
}

// visit calls fn, in key order, for each keyIndex selected by key and end
// (see Store.Range) until fn returns false. The caller holds mu.
func (ti *treeIndex) visit(key, end []byte, fn func(*keyIndex) bool) {
	t := ti.tree
	switch {
	case end == nil:
		if ki := t.get(key); ki != nil {
			fn(ki)
		}
	case isFromKey(end):
		t.walk(t.seek(key), treePos{}, fn)
	case bytes.Compare(key, end) < 0:
		// The walk ends at end's position, found with one descent, rather
		// than by comparing every key with end: that would read every
		// key's bytes, a memory access per key on a walk that otherwise
		// reads only the leaves.
		t.walk(t.seek(key), t.seek(end), fn)
	}
}

// get describes key at atRev; ok is false when it was not live then.
func (ti *treeIndex) get(key []byte, atRev int64) (keyMeta, bool) {
	ti.mu.RLock()
	defer ti.mu.RUnlock()
	ki := ti.tree.get(key)
	if ki == nil {
		return keyMeta{}, false
	}
	m, ok := ki.get(&ti.tree.hists, atRev)
	m.key = ti.tree.key(ki)
	return m, ok
}

// rangeMeta appends to metas, in key order, up to limit (all when limit <=
// 0) keys of the range live at atRev, and returns them with how many are
// live in all.
func (ti *treeIndex) rangeMeta(key, end []byte, atRev, limit int64, metas []keyMeta) ([]keyMeta, int) {
	total := 0
	ti.mu.RLock()
	defer ti.mu.RUnlock()
	ti.visit(key, end, func(ki *keyIndex) bool {
		if limit > 0 && int64(len(metas)) >= limit {
			// Past the limit only the count is wanted.
			if ki.liveAt(&ti.tree.hists, atRev) {
				total++
			}
			return true
		}
		if m, ok := ki.get(&ti.tree.hists, atRev); ok {
			m.key = ti.tree.key(ki)
			metas = append(metas, m)
			total++
		}
		return true
	})
	return metas, total
}

// rangeKeyValues is rangeMeta for a keys-only range: it builds the KVs,
// values left nil, as it walks, in slabs that grow with the range, instead
// of collecting index entries first and copying them into KVs. A million
// keys cost one pass and about 130 MB of KVs rather than two passes and
// twice that.
func (ti *treeIndex) rangeKeyValues(key, end []byte, atRev, limit int64) ([]*mvccpb.KeyValue, int) {
	var (
		kvs   []*mvccpb.KeyValue
		slab  []mvccpb.KeyValue
		total int
	)
	ti.mu.RLock()
	defer ti.mu.RUnlock()
	ti.visit(key, end, func(ki *keyIndex) bool {
		if limit > 0 && int64(len(kvs)) >= limit {
			if ki.liveAt(&ti.tree.hists, atRev) {
				total++
			}
			return true
		}
		m, ok := ki.get(&ti.tree.hists, atRev)
		if !ok {
			return true
		}
		total++
		if len(slab) == 0 {
			slab = make([]mvccpb.KeyValue, min(max(len(kvs), 16), maxKeyValueSlab))
		}
		kv := &slab[0]
		slab = slab[1:]
		kv.Key, kv.CreateRevision, kv.ModRevision = ti.tree.key(ki), m.created, m.mod.main
		kv.Version = m.version
		kvs = append(kvs, kv)
		return true
	})
	return kvs, total
}

// maxKeyValueSlab bounds the KVs allocated at once by a keys-only range.
const maxKeyValueSlab = 4096

// leased calls fn, in key order, for each key live at atRev with a lease.
// It holds the index's read lock meanwhile.
func (ti *treeIndex) leased(atRev int64, fn func(key []byte, lease int64)) {
	ti.mu.RLock()
	defer ti.mu.RUnlock()
	t := ti.tree
	t.walk(t.start(), treePos{}, func(ki *keyIndex) bool {
		if m, ok := ki.get(&ti.tree.hists, atRev); ok && m.lease != 0 {
			fn(t.key(ki), m.lease)
		}
		return true
	})
}

// count returns how many keys of the range are live at atRev.
func (ti *treeIndex) count(key, end []byte, atRev int64) (total int) {
	ti.mu.RLock()
	defer ti.mu.RUnlock()
	ti.visit(key, end, func(ki *keyIndex) bool {
		if ki.liveAt(&ti.tree.hists, atRev) {
			total++
		}
		return true
	})
	return total
}

// put records a put of key at rev with lease. The index keeps a copy of
// key.
func (ti *treeIndex) put(key []byte, rev revision, lease int64) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ki, _ := ti.tree.put(key)
	ki.put(&ti.tree.hists, rev, lease)
}

// tombstone records a delete of key at rev. It returns errRevisionNotFound
// when key is not live.
func (ti *treeIndex) tombstone(key []byte, rev revision) error {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ki := ti.tree.get(key)
	if ki == nil {
		return errRevisionNotFound
	}
	return ki.tombstone(&ti.tree.hists, rev)
}

// restore adds one revision read back from the engine; the engine is read
// in revision order. created and version describe a put (from its stored
// mvccpb.KeyValue) and are used only for the key's oldest revision.
func (ti *treeIndex) restore(key []byte, rev revision, tombstone bool, created, version, lease int64) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ki, added := ti.tree.put(key)
	switch {
	case !added && tombstone:
		_ = ki.tombstone(&ti.tree.hists, rev) // a tombstone of a dead key: nothing to end
	case !added:
		ki.put(&ti.tree.hists, rev, lease)
	case tombstone:
		ki.restoreTombstone(&ti.tree.hists, rev)
	default:
		ki.restore(&ti.tree.hists, created, rev, version, lease)
	}
}

// compact compacts every key at atRev, removing keys left empty, and
// returns the revisions at or before atRev that stay. It holds the lock
// for compactBatchKeys keys at a time, so readers and the writer proceed
// meanwhile, and rebuilds the tree once removed keys outnumber live ones.
func (ti *treeIndex) compact(atRev int64) map[revision]struct{} {
	available := make(map[revision]struct{})
	var after []byte
	for more := true; more; {
		ti.mu.Lock()
		after, more = ti.compactBatch(atRev, after, available)
		ti.mu.Unlock()
	}
	ti.mu.Lock()
	defer ti.mu.Unlock()
	if ti.tree.needsRepack() {
		ti.tree.repack()
	}
	return available
}

// compactBatchKeys is how many keys compact handles under one hold of the
// lock.
const compactBatchKeys = 1024

// compactBatch compacts up to compactBatchKeys keys after the key after
// (from the first key when it is nil). It returns the last key it handled
// and whether keys are left. The returned key stays valid until the tree
// is repacked, which only compact does, after its last batch.
func (ti *treeIndex) compactBatch(atRev int64, after []byte, available map[revision]struct{}) (last []byte, more bool) {
	t := ti.tree
	p := t.start()
	if after != nil {
		p = t.seek(after)
	}
	last = after
	var empty [][]byte
	n := 0
	first := after != nil // seek(after) lands on after itself if it is left
	t.walk(p, treePos{}, func(ki *keyIndex) bool {
		key := t.key(ki)
		if first {
			first = false
			if bytes.Equal(key, after) {
				return true
			}
		}
		if n == compactBatchKeys {
			more = true
			return false
		}
		n++
		ki.compact(&t.hists, atRev, available)
		if ki.isEmpty(&t.hists) {
			empty = append(empty, key)
		}
		last = key
		return true
	})
	for _, key := range empty {
		t.delete(key)
	}
	return last, more
}

// keep returns the revisions a compaction at atRev would keep at or before
// atRev, tombstones excepted.
func (ti *treeIndex) keep(atRev int64) map[revision]struct{} {
	available := make(map[revision]struct{})
	ti.mu.RLock()
	defer ti.mu.RUnlock()
	ti.tree.walk(ti.tree.start(), treePos{}, func(ki *keyIndex) bool {
		ki.keep(&ti.tree.hists, atRev, available)
		return true
	})
	return available
}

// len returns the number of keys in the index, live or not.
func (ti *treeIndex) len() int {
	ti.mu.RLock()
	defer ti.mu.RUnlock()
	return ti.tree.len
}
