package mvcc

import (
	"sync"

	"github.com/tidwall/btree"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// treeIndex maps keys to their keyIndex, ordered by key. It is safe for
// concurrent use; readers at a revision never see revisions added after it,
// so one writer and many readers need no other coordination.
type treeIndex struct {
	mu   sync.RWMutex
	tree *btree.BTreeG[*keyIndex]
}

// newTreeIndex returns an empty index. The tree takes no locks of its own:
// mu guards it. Walks over it cost about half what they cost on
// github.com/google/btree, whose walks from a start key search every node
// they enter again (measured on a million keys).
func newTreeIndex() *treeIndex {
	return &treeIndex{tree: btree.NewBTreeGOptions(func(a, b *keyIndex) bool {
		return a.key < b.key
	}, btree.Options{NoLocks: true, Degree: 32})}
}

// probe returns a keyIndex to look key up with; it must not be kept.
func probe(key []byte) *keyIndex { return &keyIndex{key: stringOf(key)} }

// newKeyIndex returns an empty keyIndex that owns a copy of key.
func newKeyIndex(key []byte) *keyIndex { return &keyIndex{key: string(key)} }

// isFromKey reports whether end selects every key from the start key on:
// etcd's "\x00" convention, or an empty non-nil end.
func isFromKey(end []byte) bool {
	return end != nil && (len(end) == 0 || (len(end) == 1 && end[0] == 0))
}

// visit calls fn, in key order, for each keyIndex selected by key and end
// (see Store.Range) until fn returns false. The caller holds mu.
func (ti *treeIndex) visit(key, end []byte, fn func(*keyIndex) bool) {
	if end == nil {
		if ki, ok := ti.tree.Get(probe(key)); ok {
			fn(ki)
		}
		return
	}
	if isFromKey(end) {
		ti.tree.Ascend(probe(key), fn)
		return
	}
	// The last key of the range, found with one descent, ends the walk by
	// identity: comparing every key with end would read every key's bytes,
	// a memory access per key on a walk that otherwise reads only the
	// index records.
	var last *keyIndex
	endKey := stringOf(end)
	ti.tree.Descend(probe(end), func(ki *keyIndex) bool {
		if ki.key >= endKey {
			return true // end itself, which the range excludes
		}
		last = ki
		return false
	})
	if last == nil || last.key < stringOf(key) {
		return
	}
	ti.tree.Ascend(probe(key), func(ki *keyIndex) bool {
		return fn(ki) && ki != last
	})
}

// get describes key at atRev; ok is false when it was not live then.
func (ti *treeIndex) get(key []byte, atRev int64) (keyMeta, bool) {
	ti.mu.RLock()
	defer ti.mu.RUnlock()
	ki, ok := ti.tree.Get(probe(key))
	if !ok {
		return keyMeta{}, false
	}
	return ki.get(atRev)
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
			if ki.liveAt(atRev) {
				total++
			}
			return true
		}
		if m, ok := ki.get(atRev); ok {
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
			if ki.liveAt(atRev) {
				total++
			}
			return true
		}
		m, ok := ki.get(atRev)
		if !ok {
			return true
		}
		total++
		if len(slab) == 0 {
			slab = make([]mvccpb.KeyValue, min(max(len(kvs), 16), maxKeyValueSlab))
		}
		kv := &slab[0]
		slab = slab[1:]
		kv.Key, kv.CreateRevision, kv.ModRevision = m.key, m.created, m.mod.main
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
	ti.tree.Scan(func(ki *keyIndex) bool {
		if m, ok := ki.get(atRev); ok && m.lease != 0 {
			fn(m.key, m.lease)
		}
		return true
	})
}

// count returns how many keys of the range are live at atRev.
func (ti *treeIndex) count(key, end []byte, atRev int64) (total int) {
	ti.mu.RLock()
	defer ti.mu.RUnlock()
	ti.visit(key, end, func(ki *keyIndex) bool {
		if ki.liveAt(atRev) {
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
	ki, ok := ti.tree.Get(probe(key))
	if !ok {
		ki = newKeyIndex(key)
		ti.tree.Set(ki)
	}
	ki.put(rev, lease)
}

// tombstone records a delete of key at rev. It returns errRevisionNotFound
// when key is not live.
func (ti *treeIndex) tombstone(key []byte, rev revision) error {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ki, ok := ti.tree.Get(probe(key))
	if !ok {
		return errRevisionNotFound
	}
	return ki.tombstone(rev)
}

// restore adds one revision read back from the engine; the engine is read
// in revision order. created and version describe a put (from its stored
// mvccpb.KeyValue) and are used only for the key's oldest revision.
func (ti *treeIndex) restore(key []byte, rev revision, tombstone bool, created, version, lease int64) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ki, ok := ti.tree.Get(probe(key))
	switch {
	case ok && tombstone:
		_ = ki.tombstone(rev) // a tombstone of a dead key: nothing to end
	case ok:
		ki.put(rev, lease)
	case tombstone:
		ki = newKeyIndex(key)
		ki.restoreTombstone(rev)
		ti.tree.Set(ki)
	default:
		ki = newKeyIndex(key)
		ki.restore(created, rev, version, lease)
		ti.tree.Set(ki)
	}
}

// compact compacts every key at atRev, removing keys left empty, and
// returns the revisions at or before atRev that stay. It locks one key at a
// time, so readers and the writer proceed meanwhile.
func (ti *treeIndex) compact(atRev int64) map[revision]struct{} {
	available := make(map[revision]struct{})
	ti.mu.Lock()
	clone := ti.tree.Copy()
	ti.mu.Unlock()
	clone.Scan(func(ki *keyIndex) bool {
		ti.mu.Lock()
		ki.compact(atRev, available)
		if ki.isEmpty() {
			ti.tree.Delete(ki)
		}
		ti.mu.Unlock()
		return true
	})
	return available
}

// keep returns the revisions a compaction at atRev would keep at or before
// atRev, tombstones excepted.
func (ti *treeIndex) keep(atRev int64) map[revision]struct{} {
	available := make(map[revision]struct{})
	ti.mu.RLock()
	defer ti.mu.RUnlock()
	ti.tree.Scan(func(ki *keyIndex) bool {
		ki.keep(atRev, available)
		return true
	})
	return available
}

// len returns the number of keys in the index, live or not.
func (ti *treeIndex) len() int {
	ti.mu.RLock()
	defer ti.mu.RUnlock()
	return ti.tree.Len()
}
